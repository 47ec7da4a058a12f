//! The real download path against a local HTTP server on 127.0.0.1, plus `--from` copies,
//! checksum refusals and the skip of files already valid.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use md5::{Digest, Md5};
use recur_data::download::{fetch, Outcome, RemoteFile};

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Serves `body` to up to `n` requests, then stops.
fn serve(body: Vec<u8>, n: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
        }
    });
    format!("http://{addr}")
}

fn dest(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-dl-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn downloads_checks_and_skips() {
    let body = b"\"1\",\"a\",\"b\"\n\"2\",\"c\",\"d\"\n".to_vec();
    let base = serve(body.clone(), 1);
    let file = RemoteFile {
        name: "train.csv".into(),
        url: format!("{base}/train.csv"),
        md5: md5_hex(&body),
        lines: 2,
    };
    let d = dest("ok");
    let out = fetch(std::slice::from_ref(&file), &d, None, false).unwrap();
    assert_eq!(out, vec![("train.csv".to_string(), Outcome::Downloaded)]);
    assert_eq!(std::fs::read(d.join("train.csv")).unwrap(), body);
    // second time: already valid, no request made (the server would refuse a second one)
    let out = fetch(&[file], &d, None, false).unwrap();
    assert_eq!(out[0].1, Outcome::AlreadyValid);
}

#[test]
fn refuses_a_mismatching_download_with_both_checksums() {
    let body = b"tampered\n".to_vec();
    let base = serve(body.clone(), 1);
    let want = "0123456789abcdef0123456789abcdef";
    let file = RemoteFile {
        name: "test.csv".into(),
        url: format!("{base}/test.csv"),
        md5: want.into(),
        lines: 1,
    };
    let d = dest("bad");
    let e = fetch(&[file], &d, None, false).unwrap_err().to_string();
    assert!(e.contains(want) && e.contains(&md5_hex(&body)), "{e}");
    assert!(
        !d.join("test.csv").exists(),
        "a refused file must not be left behind"
    );
}

#[test]
fn offline_error_says_to_copy_the_files() {
    let file = RemoteFile {
        name: "test.csv".into(),
        url: "http://127.0.0.1:9/test.csv".into(),
        md5: "x".into(),
        lines: 1,
    };
    let e = fetch(&[file], &dest("offline"), None, false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("could not download http://127.0.0.1:9/test.csv"),
        "{e}"
    );
    assert!(e.contains("install them from that folder"), "{e}");
}

#[test]
fn copies_from_a_local_folder() {
    let src = dest("src");
    std::fs::create_dir_all(&src).unwrap();
    let body = b"1,x\n".to_vec();
    std::fs::write(src.join("test.csv"), &body).unwrap();
    let file = RemoteFile {
        name: "test.csv".into(),
        url: "http://127.0.0.1:9/unused".into(),
        md5: md5_hex(&body),
        lines: 1,
    };
    let d = dest("copy");
    let out = fetch(std::slice::from_ref(&file), &d, Some(&src), false).unwrap();
    assert_eq!(out[0].1, Outcome::Copied);
    let bad = RemoteFile { lines: 5, ..file };
    let e = fetch(&[bad], &dest("copy2"), Some(&src), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 lines, expected 5"), "{e}");
}
