//! Escaping for the HTML pages the server renders: every piece of user text goes through here.

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a person's multi-line text for a printed page: each line break (LF, CRLF or CR)
/// becomes `<br>`, so what was typed on several lines prints on several lines.
pub fn escape_lines(text: &str) -> String {
    escape(text)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "<br>\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_in_user_text_is_inert() {
        assert_eq!(
            super::escape("<script>alert('x')</script> & \""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;"
        );
    }

    #[test]
    fn line_breaks_survive_and_markup_does_not() {
        assert_eq!(
            super::escape_lines("一、垃圾\r\n二、<污水>\r三\n四"),
            "一、垃圾<br>\n二、&lt;污水&gt;<br>\n三<br>\n四"
        );
    }
}
