//! A small disk that can be filled: a tmpfs of a few MiB mounted on a temporary directory (root
//! only; CI runs as root). Unmounted when dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallDisk {
    dir: tempfile::TempDir,
    filler: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB, or says why it cannot. With `CLOSEOUT_TEST_REQUIRE_MOUNT=1`
    /// (scripts/test sets it when it runs as root) a failure to mount fails the test instead.
    pub fn mount(mib: u32) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        let reason = match out {
            Ok(o) if o.status.success() => None,
            Ok(o) => Some(format!(
                "mount -t tmpfs failed (needs root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run mount: {e}")),
        };
        if let Some(reason) = reason {
            if std::env::var("CLOSEOUT_TEST_REQUIRE_MOUNT").as_deref() == Ok("1") {
                panic!("CLOSEOUT_TEST_REQUIRE_MOUNT=1 but {reason}");
            }
            return Err(reason);
        }
        let filler = dir.path().join("filler");
        Ok(Self { dir, filler })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk refuses a single byte more. Returns the bytes written.
    pub fn fill(&self) -> u64 {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.filler)
            .unwrap();
        let mut written = 0u64;
        for chunk in [1 << 16, 4096, 1] {
            let buf = vec![0u8; chunk];
            loop {
                match f.write(&buf) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => panic!("filling {}: {e}", self.filler.display()),
                }
            }
        }
        let _ = f.sync_all();
        written
    }

    /// Gives the space back.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a server's connections may still hold files open for a moment.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
