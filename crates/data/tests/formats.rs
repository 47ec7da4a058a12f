//! Every file format on small files the tests write: CSV and TSV (header or not, named and
//! numbered columns, BOM, CRLF, quoted delimiters, quotes and newlines), JSONL and fastText;
//! format detection; classes from integer and string labels; each tokenizer; and every kind
//! of malformed row, as an error naming file and line or as a counted skip.

use std::path::{Path, PathBuf};

use recur_data::{
    read_labelled, Classes, Column, DataError, Format, LabelMap, RawDataset, ReadSpec, Tokenizer,
};

fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("recur-formats-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmpdir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn spec(label: Option<&str>, text: Option<&str>, header: bool) -> ReadSpec {
    ReadSpec {
        format: None,
        label_col: label.map(|l| l.parse().unwrap()),
        text_cols: text.map_or(Vec::new(), |t| Column::parse_list(t).unwrap()),
        header,
    }
}

fn read(path: &Path, spec: &ReadSpec) -> RawDataset {
    read_labelled(path, spec, Tokenizer::BasicEnglish, false).unwrap()
}

fn rows(d: &RawDataset) -> Vec<(&str, &str, u64)> {
    d.examples
        .iter()
        .map(|e| (e.label.as_str(), e.text.as_str(), e.line))
        .collect()
}

fn error(name: &str, bytes: &[u8], spec: &ReadSpec) -> String {
    let p = write(name, bytes);
    match read_labelled(&p, spec, Tokenizer::BasicEnglish, false) {
        Ok(d) => panic!("{name}: expected an error, read {} rows", d.examples.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn csv_with_a_header_and_named_columns() {
    let p = write(
        "named.csv",
        b"id,headline,category,body\n1,Goal!,sport,\"A late goal, at last\"\n2,Rates \
            up,business,\"Banks \"\"hike\"\"\"\n",
    );
    let d = read(&p, &spec(Some("category"), Some("headline,body"), false));
    assert_eq!(d.format, Format::Csv);
    assert_eq!(
        rows(&d),
        [
            ("sport", "Goal! A late goal, at last", 2),
            ("business", "Rates up Banks \"hike\"", 3)
        ]
    );
    // a name that is not in the header is an error naming the header's columns
    let e = error(
        "named2.csv",
        b"a,b\nx,y\n",
        &spec(Some("label"), None, false),
    );
    assert!(
        e.contains("named2.csv:1")
            && e.contains("\"label\" is not in the header (its columns: a, b)"),
        "{e}"
    );
    let e = error(
        "dup.csv",
        b"t,t,l\nx,y,z\n",
        &spec(Some("l"), Some("t"), false),
    );
    assert!(e.contains("appears 2 times"), "{e}");
}

#[test]
fn csv_numbered_columns_with_and_without_header() {
    let body = b"text one,extra,pos\ntext two,more,neg\n";
    let p = write("numbered.csv", body);
    let d = read(&p, &spec(Some("3"), Some("1"), false));
    assert_eq!(rows(&d), [("pos", "text one", 1), ("neg", "text two", 2)]);
    // --header skips the first row
    let d = read(&p, &spec(Some("3"), Some("2,1"), true));
    assert_eq!(rows(&d), [("neg", "more text two", 2)]);
    // default columns: label 1, every other joined
    let d = read(&p, &ReadSpec::default());
    assert_eq!(rows(&d)[0], ("text one", "extra pos", 1));
    let e = error("numbered2.csv", body, &spec(Some("4"), None, false));
    assert!(
        e.contains("column 4 does not exist: the first row has 3 fields"),
        "{e}"
    );
    let e = error("numbered3.csv", body, &spec(Some("1"), Some("1,2"), false));
    assert!(e.contains("both the label and a text column"), "{e}");
    assert!("0".parse::<Column>().is_err());
}

#[test]
fn bom_crlf_and_quoted_newlines() {
    let p = write(
        "crlf.csv",
        b"\xef\xbb\xbflabel,text\r\nham,\"line one\r\nline two, with \
            \"\"quotes\"\"\"\r\n\r\nspam,plain\r\n",
    );
    let d = read(&p, &spec(Some("label"), Some("text"), false));
    assert_eq!(
        rows(&d),
        [
            ("ham", "line one\r\nline two, with \"quotes\"", 2),
            ("spam", "plain", 5)
        ]
    );
}

#[test]
fn tsv_with_quoted_tabs() {
    let p = write(
        "data.tsv",
        b"label\ttitle\tbody\nspam\t\"Win\tnow\"\t\"free \"\"money\"\"\"\nham\tHi\tsee you at 5\n",
    );
    let d = read(&p, &spec(None, None, true));
    assert_eq!(d.format, Format::Tsv);
    assert_eq!(
        rows(&d),
        [
            ("spam", "Win\tnow free \"money\"", 2),
            ("ham", "Hi see you at 5", 3)
        ]
    );
}

#[test]
fn jsonl_string_and_integer_labels_and_named_fields() {
    let p = write(
        "data.jsonl",
        b"{\"label\": \"pos\", \"text\": \"good film\"}\n\n{\"label\": 2, \"text\": \"bad \
            \\\"film\\\"\"}\r\n",
    );
    let d = read(&p, &ReadSpec::default());
    assert_eq!(d.format, Format::Jsonl);
    assert_eq!(
        rows(&d),
        [("pos", "good film", 1), ("2", "bad \"film\"", 3)]
    );
    let p = write(
        "fields.ndjson",
        b"{\"y\": \"a\", \"title\": \"T\", \"body\": \"B\", \"extra\": [1]}\n",
    );
    let d = read(&p, &spec(Some("y"), Some("title,body"), false));
    assert_eq!(rows(&d), [("a", "T B", 1)]);
    let e = error("num.jsonl", b"{}\n", &spec(Some("1"), None, false));
    assert!(e.contains("JSONL fields are named"), "{e}");
}

#[test]
fn fasttext_lines() {
    let p = write(
        "train.txt",
        b"__label__sports A late goal wins it\n\n__label__tech   new  chip\r\nprice rises \
            __label__business\n",
    );
    let d = read(&p, &ReadSpec::default());
    assert_eq!(d.format, Format::FastText);
    assert_eq!(
        rows(&d),
        [
            ("sports", "A late goal wins it", 1),
            ("tech", "new chip", 3),
            ("business", "price rises", 4)
        ]
    );
    let ft = ReadSpec {
        format: Some(Format::FastText),
        ..ReadSpec::default()
    };
    let e = error("multi.txt", b"__label__a __label__b text\n", &ft);
    assert!(
        e.contains("multi.txt:1") && e.contains("2 labels (__label__a, __label__b)"),
        "{e}"
    );
    let e = error("nolabel.txt", b"__label__a ok\njust text\n", &ft);
    assert!(
        e.contains("nolabel.txt:2") && e.contains("no __label__"),
        "{e}"
    );
    let e = error("emptylabel.txt", b"__label__ text\n", &ft);
    assert!(e.contains("empty label"), "{e}");
    let e = error(
        "ftcols.txt",
        b"__label__a x\n",
        &ReadSpec {
            label_col: Some(Column::Number(1)),
            ..ft.clone()
        },
    );
    assert!(e.contains("do not apply to fastText"), "{e}");
}

#[test]
fn format_detection() {
    let cases: [(&str, &[u8], Format); 7] = [
        ("a.csv", b"__label__x y\n", Format::Csv),
        ("a.TSV", b"", Format::Tsv),
        ("a.tab", b"", Format::Tsv),
        ("a.jsonl", b"", Format::Jsonl),
        ("a.ndjson", b"", Format::Jsonl),
        ("a.txt", b"\xef\xbb\xbf\n  __label__x y\n", Format::FastText),
        ("a", b"1,x,y\n", Format::Csv),
    ];
    for (name, head, want) in cases {
        assert_eq!(Format::detect(Path::new(name), head), want, "{name}");
    }
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>().unwrap(), f);
    }
    assert!("xml".parse::<Format>().is_err());
}

#[test]
fn classes_from_integer_and_string_labels() {
    let c = Classes::infer(["2", "1", "4", "2"], None).unwrap();
    assert_eq!(c.names(), ["1", "2", "3", "4"]);
    assert_eq!(c.map(), LabelMap::Integer { base: 1 });
    assert_eq!(c.class_of("4"), Ok(3));
    assert!(c
        .class_of("5")
        .unwrap_err()
        .to_string()
        .contains("outside 1..=4"));
    assert!(c
        .class_of("0")
        .unwrap_err()
        .to_string()
        .contains("outside 1..=4"));
    let c = Classes::infer(["0", "1"], None).unwrap();
    assert_eq!(c.map(), LabelMap::Integer { base: 0 });
    assert_eq!(c.class_of("1"), Ok(1));
    let names: Vec<String> = ["neg", "pos"].map(String::from).to_vec();
    let c = Classes::infer(["1", "0"], Some(&names)).unwrap();
    assert_eq!(c.names(), ["neg", "pos"]);
    assert_eq!(c.class_of("0"), Ok(0));
    // string labels: sorted, or in the given order
    let c = Classes::infer(["spam", "ham", "spam", "-1"], None).unwrap();
    assert_eq!(c.names(), ["-1", "ham", "spam"]);
    assert_eq!(c.map(), LabelMap::Names);
    let order: Vec<String> = ["spam", "ham"].map(String::from).to_vec();
    let c = Classes::infer(["ham", "spam"], Some(&order)).unwrap();
    assert_eq!(c.class_of("spam"), Ok(0));
    let e = c.class_of("eggs").unwrap_err().to_string();
    assert!(
        e.contains("\"eggs\" is not one of the classes (spam, ham)"),
        "{e}"
    );
    let twice: Vec<String> = ["a", "a"].map(String::from).to_vec();
    assert!(Classes::infer(["a"], Some(&twice)).is_err());
}

#[test]
fn unseen_labels_name_file_and_line_or_are_skipped() {
    let train = write("cls_train.csv", b"spam,win money\nham,hello there\n");
    let test = write("cls_test.csv", b"ham,hi\neggs,unknown label\nspam,offer\n");
    let raw = read(&train, &ReadSpec::default());
    let classes = Classes::infer(raw.examples.iter().map(|e| e.label.as_str()), None).unwrap();
    let e = classes
        .assign(read(&test, &ReadSpec::default()), false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cls_test.csv:2")
            && e.contains("\"eggs\" is not one of the classes (ham, spam)"),
        "{e}"
    );
    let raw = read_labelled(&test, &ReadSpec::default(), Tokenizer::BasicEnglish, true).unwrap();
    let d = classes.assign(raw, true).unwrap();
    assert_eq!(
        d.examples.iter().map(|e| e.label).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(d.skipped.len(), 1);
}

#[test]
fn tokenizers() {
    let text = "Hello, World!  It's   5\"";
    assert_eq!(
        Tokenizer::BasicEnglish.tokenize(text),
        ["hello", ",", "world", "!", "it", "'", "s", "5"]
    );
    assert_eq!(
        Tokenizer::Whitespace.tokenize(text),
        ["Hello,", "World!", "It's", "5\""]
    );
    assert_eq!(
        Tokenizer::Char.tokenize(" ab  c\té "),
        ["a", "b", " ", "c", " ", "é"]
    );
    assert!(Tokenizer::BasicEnglish.is_empty_text("\"\" ;: <br />"));
    assert!(!Tokenizer::Whitespace.is_empty_text("\"\""));
    assert!(Tokenizer::Char.is_empty_text(" \t\n"));
    for t in Tokenizer::ALL {
        assert_eq!(t.name().parse::<Tokenizer>().unwrap(), t);
    }
    // the reader's empty-text check follows the tokenizer
    let p = write("quotes.csv", b"a,\"\"\"\"\"\"\n");
    assert!(read_labelled(&p, &ReadSpec::default(), Tokenizer::BasicEnglish, false).is_err());
    let d = read_labelled(&p, &ReadSpec::default(), Tokenizer::Whitespace, false).unwrap();
    assert_eq!(d.examples[0].text, "\"\"");
}

/// Every malformed-row kind, per format: an error naming file and line, and a counted skip
/// with the good rows kept when skipping.
#[test]
fn every_malformed_row_kind() {
    // (file, bytes, message, line of the bad row); each file has two good rows, but for an
    // unclosed quote mid-file, which swallows the rows after it
    let cases: [(&str, &[u8], &str, u64); 14] = [
        (
            "fields.csv",
            b"a,x,y\nb,only\na,z,w\n",
            "expected 3 fields",
            2,
        ),
        (
            "utf8.csv",
            b"a,ok\nb,\xff\xfe\na,fine\n",
            "not valid UTF-8",
            2,
        ),
        ("label.csv", b"a,ok\n  ,text\na,fine\n", "empty label", 2),
        ("text.csv", b"a,ok\nb,\" ;: \"\na,fine\n", "empty text", 2),
        (
            "cut.csv",
            b"a,ok\na,fine\nb,\"cut off",
            "ends in the middle of a row",
            3,
        ),
        (
            "quote.csv",
            b"a,ok\nb,\"never closed\na,x\n",
            "ends in the middle of a row",
            2,
        ),
        (
            "json.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\": \"b\", \"text\": }\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n",
            "invalid JSON",
            2,
        ),
        (
            "array.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n[1, 2]\n{\"label\":\"a\",\"text\":\"fine\"}\n",
            "expected a JSON object, found an array",
            2,
        ),
        (
            "missing.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\": \"b\", \"body\": \"x\"}\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n",
            "missing text field \"text\" (the object has: body, label)",
            2,
        ),
        (
            "float.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\": 1.5, \"text\": \"x\"}\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n",
            "must be a string or an integer, found a number",
            2,
        ),
        (
            "type.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\": \"b\", \"text\": 3}\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n",
            "must be a string, found a number",
            2,
        ),
        (
            "utf8.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\": \"\xff\"}\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n",
            "not valid UTF-8",
            2,
        ),
        (
            "cut.jsonl",
            b"{\"label\":\"a\",\"text\":\"ok\"}\n\
              {\"label\":\"a\",\"text\":\"fine\"}\n\
              {\"label\": \"b\", \"te",
            "may be truncated",
            3,
        ),
        (
            "empty.txt",
            b"__label__a ok\n__label__b  \n__label__a fine\n",
            "empty text",
            2,
        ),
    ];
    for (name, bytes, needle, line) in cases {
        let e = error(name, bytes, &ReadSpec::default());
        assert!(
            e.contains(&format!("{name}:{line}:")) && e.contains(needle),
            "{name}: {e}"
        );
        let p = write(name, bytes);
        let d = read_labelled(&p, &ReadSpec::default(), Tokenizer::BasicEnglish, true).unwrap();
        let good = if name == "quote.csv" { 1 } else { 2 };
        assert_eq!(d.examples.len(), good, "{name}: good rows kept");
        assert_eq!(d.skipped.len(), 1, "{name}: one row skipped");
        assert!(matches!(&d.skipped[0], DataError::Row { line: l, .. } if *l == line));
    }
}

#[test]
fn missing_file_names_the_path() {
    let e = read_labelled(
        Path::new("/nonexistent/data.jsonl"),
        &ReadSpec::default(),
        Tokenizer::BasicEnglish,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/nonexistent/data.jsonl"), "{e}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn any_format() -> impl Strategy<Value = Format> {
        prop::sample::select(Format::ALL.to_vec())
    }

    fn cases() -> u32 {
        std::env::var("RECUR_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]
        /// No byte sequence makes a reader panic, with or without skipping.
        #[test]
        fn fuzz_readers(
            bytes in prop::collection::vec(
                prop::sample::select(b"ab,\t\"\n\r{}:[]_label 1\xff\xc3\xa9".to_vec()), 0..200),
            format in any_format(),
            skip in any::<bool>(),
            header in any::<bool>(),
        ) {
            let p = write(&format!("fuzz-{}.bin", std::process::id()), &bytes);
            let spec = ReadSpec { format: Some(format),
                header: header && format != Format::FastText, ..ReadSpec::default() };
            let _ = read_labelled(&p, &spec, Tokenizer::BasicEnglish, skip);
        }
    }
}
