//! Merchant Category Codes (ISO 18245): a workspace's Scope of Business.

include!(concat!(env!("OUT_DIR"), "/mcc_list.rs"));

/// The description of a code, if the code is in the list.
pub fn mcc_description(code: &str) -> Option<&'static str> {
    MCC_LIST
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| MCC_LIST[i].1)
}

/// Codes whose code or description contains `query` (ignoring case).
pub fn search_mcc(query: &str) -> impl Iterator<Item = &'static (&'static str, &'static str)> + '_ {
    let q = query.trim().to_lowercase();
    MCC_LIST
        .iter()
        .filter(move |(code, d)| q.is_empty() || code.contains(&q) || d.to_lowercase().contains(&q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_complete_and_searchable() {
        assert!(MCC_LIST.len() > 250);
        assert_eq!(mcc_description("0742"), Some("Veterinary services"));
        assert_eq!(
            mcc_description("5812").map(|d| d.contains("Eating")),
            Some(true)
        );
        assert_eq!(mcc_description("0000"), None);
        assert!(search_mcc("veterinary").any(|(c, _)| *c == "0742"));
    }
}
