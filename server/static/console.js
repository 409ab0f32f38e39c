// 督查办工作台: keyboard shortcuts of the acceptance queue (no inline scripts: the CSP forbids
// them). `a` approves (focusing the reason first when the evidence needs one), `r` focuses the
// return reason. Keys typed into a field are left alone.
document.addEventListener("keydown", function (e) {
  var t = e.target;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
  if (e.key === "a") {
    var form = document.getElementById("form-approve");
    if (!form) return;
    var reason = document.getElementById("override-reason");
    if (form.querySelector(".warn") && reason && !reason.value) {
      reason.focus();
    } else {
      form.requestSubmit();
    }
    e.preventDefault();
  } else if (e.key === "r") {
    var ret = document.getElementById("return-reason");
    if (ret) { ret.focus(); e.preventDefault(); }
  }
});
// 督办单: the print button (no inline handlers under the CSP).
document.addEventListener("click", function (e) {
  var t = e.target;
  if (t && t.hasAttribute && t.hasAttribute("data-print")) { window.print(); }
});
