//! Mini program directories for the tests.

use std::path::Path;

use super::bundle::{list_bundle, pack};

pub(super) fn write(dir: &Path, path: &str, contents: &str) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, contents).unwrap();
}

pub(super) fn packed(dir: &Path) -> Vec<u8> {
    pack(&list_bundle(dir).unwrap(), Vec::new()).unwrap()
}

pub(super) const FILES: [(&str, &str); 5] = [
    ("app.json", r#"{"pages":["pages/index"]}"#),
    ("pages/index.js", "Page({})"),
    ("pages/index.wxml", "<view>hi</view>"),
    ("b.txt", "b"),
    ("a/z/deep.txt", "deep"),
];

pub(super) const ID: &str = "0190a0b1-c2d3-7e4f-8a9b-0c1d2e3f4a5b";
