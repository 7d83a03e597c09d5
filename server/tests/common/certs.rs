//! Certificates for the TLS tests: a CA, and a server and a client certificate it signed,
//! made with openssl in a directory of the test's own.

use std::path::PathBuf;
use std::process::Command;

use super::tool;

/// openssl's arguments for a new P-256 key, unencrypted.
const EC: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A directory of its own for each test, removed at the end.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("vitals-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Dir, args: &[&str]) {
    let out = Command::new(tool("openssl"))
        .current_dir(&dir.0)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.pem`), a server certificate for 127.0.0.1 signed by it (`server.pem`,
/// `server.key`) and a client certificate (`client.pem`, `client.key`).
pub fn certificates(dir: &Dir) {
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &EC,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=vitals test CA",
            ],
        ]
        .concat(),
    );
    issue(dir, "server", "serverAuth", "IP:127.0.0.1,DNS:localhost");
    issue(dir, "client", "clientAuth", "DNS:prometheus");
}

/// `<name>.pem` and `<name>.key`, signed by the CA in `dir`.
pub fn issue(dir: &Dir, name: &str, usage: &str, san: &str) {
    dir.write(
        &format!("{name}.ext"),
        &format!(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n\
             extendedKeyUsage={usage}\nsubjectAltName={san}\n"
        ),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &EC,
            &[
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &format!("{name}.pem"),
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}
