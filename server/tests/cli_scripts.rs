//! Debian's C client (`cli_mt`) and Apache's Java client (`ZooKeeperMain`,
//! batch mode and an interactive session) against an embedded zkserver,
//! through the same check scripts that are validated against Apache
//! ZooKeeper itself.

use std::path::PathBuf;
use std::process::Command;

use zkserver::config::Config;
use zkserver::Server;

fn run_script(name: &str, addr: &str) -> (Option<i32>, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name);
    let out = Command::new(script).arg(addr).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn c_and_java_clients_work_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.44\n",
        dir.path().display()
    );
    let (cfg, _) = Config::parse(&text, None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::builder(cfg).start()).unwrap();
    let addr = server.client_addr().to_string();
    let results = [
        ("cli_mt.sh", run_script("cli_mt.sh", &addr)),
        ("zkcli.sh", run_script("zkcli.sh", &addr)),
    ];
    rt.block_on(server.shutdown()).unwrap();
    for (name, (code, text)) in results {
        assert_eq!(code, Some(0), "{name}:\n{text}");
        assert!(text.contains("checks passed"), "{name}:\n{text}");
        assert!(!text.contains("FAIL"), "{name}:\n{text}");
    }
}
