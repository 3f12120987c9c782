//! What the end-to-end benchmarks share: the sandbox as a process of the built binary.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_ocean-export");

/// `ocean-export sandbox ARGS...`, once it has printed its URL; killed when dropped.
pub struct SandboxProcess {
    child: Child,
    pub url: String,
}

impl SandboxProcess {
    pub fn start<A: AsRef<OsStr>>(args: impl IntoIterator<Item = A>) -> SandboxProcess {
        let mut child = Command::new(BIN)
            .arg("sandbox")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sandbox starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("OCEAN_BASE_URL=").expect("the sandbox prints its URL").to_owned();
        SandboxProcess { child, url }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
