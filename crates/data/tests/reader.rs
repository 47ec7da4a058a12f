//! The CSV reader on good and bad input: every malformed-row kind is an error naming file
//! and line (or is skipped and counted on request), and the real AG News files read fully.

use std::path::{Path, PathBuf};

use recur_data::{read_csv, read_labelled_first, DataError, ReadOptions, ReadSpec, Tokenizer};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-reader-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn err_of(bytes: &[u8], tag: &str) -> String {
    let dir = tmpdir(tag);
    let p = write(&dir, "bad.csv", bytes);
    match read_csv(&p, ReadOptions::default()) {
        Ok(d) => panic!("{tag}: expected an error, read {} rows", d.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reads_three_and_two_column_rows() {
    let dir = tmpdir("good");
    let p = write(
        &dir,
        "a.csv",
        b"\"3\",\"Title\",\"Some \"\"quoted\"\" text\"\n\"1\",\"T2\",\"D2\"\n",
    );
    let d = read_csv(&p, ReadOptions::default()).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.examples[0].label, 2);
    assert_eq!(d.examples[0].text, "Title Some \"quoted\" text");
    assert_eq!(d.examples[1].line, 2);
    let p = write(&dir, "b.csv", b"2,hello world\n4,bye\n");
    let d = read_csv(&p, ReadOptions::default()).unwrap();
    assert_eq!(d.examples[1].label, 3);
    assert_eq!(d.examples[1].text, "bye");
}

#[test]
fn wrong_field_count_names_file_and_line() {
    let e = err_of(b"1,a,b\n2,only\n", "fields");
    assert!(
        e.contains("bad.csv:2") && e.contains("expected 3 fields"),
        "{e}"
    );
    let e = err_of(b"1,a,b,c\n2,a,b\n", "fields4");
    assert!(e.contains("bad.csv:2") && e.contains("found 3"), "{e}");
    let e = err_of(b"1\n", "fields1");
    assert!(
        e.contains("bad.csv:1") && e.contains("at least 2 fields"),
        "{e}"
    );
}

#[test]
fn bad_class_is_an_error() {
    let e = err_of(b"1,a,b\nx,a,b\n", "class");
    assert!(e.contains(":2") && e.contains("not an integer"), "{e}");
    let e = err_of(b"5,a,b\n", "range");
    assert!(e.contains("outside 1..=4"), "{e}");
    let e = err_of(b"0,a,b\n", "zero");
    assert!(e.contains("outside 1..=4"), "{e}");
}

#[test]
fn invalid_utf8_is_an_error() {
    let e = err_of(b"1,a,b\n2,\xff\xfe,c\n", "utf8");
    assert!(e.contains(":2") && e.contains("UTF-8"), "{e}");
}

#[test]
fn empty_text_is_an_error() {
    let e = err_of(b"1,\"\",\"\"\n", "empty");
    assert!(e.contains(":1") && e.contains("empty text"), "{e}");
    let e = err_of(b"1,\"\"\"\",\" ;: <br /> \"\n", "empty2");
    assert!(e.contains("empty text"), "{e}");
}

#[test]
fn truncated_file_is_an_error() {
    let e = err_of(b"1,a,b\n2,\"title\",\"desc cut off", "trunc");
    assert!(e.contains("ends in the middle of a row"), "{e}");
}

#[test]
fn one_megabyte_line_reads() {
    let dir = tmpdir("big");
    let mut row = b"3,\"big\",\"".to_vec();
    row.extend(std::iter::repeat_n(b"word ".as_slice(), 210_000).flatten());
    row.extend_from_slice(b"\"\n1,a,b\n");
    let p = write(&dir, "big.csv", &row);
    let d = read_csv(&p, ReadOptions::default()).unwrap();
    assert_eq!(d.len(), 2);
    assert!(d.examples[0].text.len() > 1_000_000);
    assert_eq!(d.examples[1].line, 2);
}

#[test]
fn skip_bad_rows_counts_them() {
    let dir = tmpdir("skip");
    let p = write(&dir, "s.csv", b"1,a,b\n9,a,b\n2,only\n3,c,d\n4,\"\",\"\"\n");
    let d = read_csv(
        &p,
        ReadOptions {
            skip_bad_rows: true,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d.skipped.len(), 3);
    assert!(d.skipped.iter().all(|e| matches!(e, DataError::Row { .. })));
}

#[test]
fn missing_file_names_the_path() {
    let e = read_csv(Path::new("/nonexistent/recur.csv"), ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/recur.csv"), "{e}");
}

fn shared_file(name: &str) -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("RECUR_DATA_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/ag_news")),
    ];
    dirs.into_iter()
        .flatten()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[test]
fn real_ag_news_files() {
    match shared_file("test.csv") {
        Some(p) => {
            let d = read_csv(&p, ReadOptions::default()).unwrap();
            assert_eq!(d.len(), 7_600);
            assert_eq!(d.class_counts(4), vec![1_900; 4]);
        }
        None => recur_testkit::skip_without_data("real test.csv check"),
    }
    match shared_file("train_sample.csv") {
        Some(p) => {
            let d = read_csv(&p, ReadOptions::default()).unwrap();
            assert_eq!(d.len(), 10_429);
            assert_eq!(d.class_counts(4), vec![2_630, 2_452, 2_594, 2_753]);
        }
        None => recur_testkit::skip_without_data("real train_sample.csv check"),
    }
}

#[test]
fn a_row_limit_reads_the_first_good_rows_of_every_format() {
    let dir = tmpdir("limit");
    let files = [
        ("l.csv", &b"1,a\n2,\n2,b\n3,c\n4,d\n"[..]),
        ("l.tsv", b"1\ta\n2\t\n2\tb\n3\tc\n4\td\n"),
        (
            "l.jsonl",
            b"{\"label\":1,\"text\":\"a\"}\n{\"label\":2,\"text\":\"\"}\n\
              {\"label\":2,\"text\":\"b\"}\n{\"label\":3,\"text\":\"c\"}\n",
        ),
        (
            "l.txt",
            b"__label__1 a\n__label__2\n__label__2 b\n__label__3 c\n",
        ),
    ];
    for (name, bytes) in files {
        let p = write(&dir, name, bytes);
        let spec = ReadSpec::default();
        let d = read_labelled_first(&p, &spec, Tokenizer::BasicEnglish, true, Some(2)).unwrap();
        let texts: Vec<&str> = d.examples.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a", "b"], "{name}");
        assert_eq!(d.skipped.len(), 1, "{name}");
        let all = read_labelled_first(&p, &spec, Tokenizer::BasicEnglish, true, None).unwrap();
        assert!(all.examples.len() > 2, "{name}");
    }
    let p = write(&dir, "ag.csv", b"1,a,b\n2,c,d\n3,e,f\n");
    let options = ReadOptions {
        max_rows: Some(1),
        ..ReadOptions::default()
    };
    assert_eq!(read_csv(&p, options).unwrap().len(), 1);
}
