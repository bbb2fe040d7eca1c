//! Compiles the Merchant Category Code list (ISO 18245, `data/mcc/`) into a Rust table so the
//! binary and the browser both carry it without parsing CSV at run time.

use std::fmt::Write;

fn main() {
    let source = "data/mcc/iso18245_official_list.csv";
    println!("cargo:rerun-if-changed={source}");
    let mut reader = csv::Reader::from_path(source).expect("read the MCC list");
    let mut out = String::from("/// (code, description), sorted by code. Generated from data/mcc.\npub static MCC_LIST: &[(&str, &str)] = &[\n");
    let mut rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("a valid MCC row");
            (r[0].trim().to_string(), r[1].trim().to_string())
        })
        .collect();
    rows.sort();
    rows.dedup_by(|a, b| a.0 == b.0);
    for (code, description) in rows {
        assert!(
            code.len() == 4 && code.chars().all(|c| c.is_ascii_digit()),
            "bad MCC code {code}"
        );
        writeln!(out, "    ({code:?}, {description:?}),").unwrap();
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("mcc_list.rs");
    std::fs::write(dest, out).expect("write the MCC table");
}
