//! The Content Security Policy. A console page runs only the inline scripts it names by a nonce
//! made for that response (the hydration script and the data of its resources); every other
//! response runs no inline script at all. Scripts and the WASM come from this site only.

/// The policy, for a page that carries `nonce` on its inline scripts, or for any other response.
pub fn policy(nonce: Option<&str>) -> String {
    let inline = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{inline} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_page_names_inline_scripts_and_never_all_of_them() {
        let page = super::policy(Some("AbC-123_x"));
        assert!(page.contains("script-src 'self' 'nonce-AbC-123_x' 'wasm-unsafe-eval';"), "{page}");
        let other = super::policy(None);
        assert!(other.contains("script-src 'self' 'wasm-unsafe-eval';"), "{other}");
        for p in [page, other] {
            assert!(!p.contains("unsafe-inline") && !p.contains("'unsafe-eval'"), "{p}");
            assert!(p.contains("frame-ancestors 'none'") && p.contains("form-action 'self'"), "{p}");
        }
    }
}
