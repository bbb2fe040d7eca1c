//! The rules of free-text fields (names, addresses, reasons, notes), written once: the value is
//! trimmed, and each refusal names the field and the rule.

use super::AppError;

/// `raw` trimmed, if it is at most `max` characters (it may be empty) and holds no control
/// character but line breaks and tabs.
pub fn at_most(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(AppError::invalid(field, "must not contain control characters (line breaks and tabs are fine)"));
    }
    Ok(text.to_string())
}

/// Characters that show as nothing, or turn the text around them: zero-width spaces and joiners,
/// bidirectional controls, the byte order mark, line and paragraph separators, tags. In a name
/// they would make two names look the same (`Cou\u{200B}pons` beside `Coupons`) or one read
/// backwards.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{61C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// `raw` trimmed, if it is not empty and at most `max` characters.
pub fn required(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    at_most(field, raw, max)
}

/// A name: [`required`], on one line without control characters or characters that show as
/// nothing.
pub fn name(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let name = required(field, raw, max)?;
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    if name.chars().any(invisible) {
        return Err(AppError::invalid(field, "must not contain invisible characters (zero-width spaces, direction marks)"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_each_refusal_names_the_field_and_the_rule() {
        assert_eq!(at_most("Note", "  hi ", 2).unwrap(), "hi");
        assert_eq!(at_most("Note", "   ", 2).unwrap(), "");
        let e = at_most("Note", "héé", 2).unwrap_err();
        assert_eq!((e.field(), e.to_string().contains("must be at most 2 characters")), (Some("Note"), true));
        let e = required("Reason", " \t", 10).unwrap_err();
        assert_eq!((e.field(), e.to_string().contains("is required")), (Some("Reason"), true));
        assert_eq!(name("App Name", " Shop ", 10).unwrap(), "Shop");
        let e = name("App Name", "Sh\u{7}op", 10).unwrap_err();
        assert_eq!((e.field(), e.to_string().contains("control characters")), (Some("App Name"), true));
        for hidden in ["Cou\u{200B}pons", "Coupons\u{202E}", "\u{2066}Shop", "Sh\u{FEFF}op", "a\u{2028}b"] {
            let e = name("Mini Program Name", hidden, 20).unwrap_err();
            assert_eq!((e.field(), e.to_string().contains("invisible characters")), (Some("Mini Program Name"), true), "{hidden:?}");
        }
        assert_eq!(name("Mini Program Name", "Café Ünïcode 商店", 20).unwrap(), "Café Ünïcode 商店");
        assert_eq!(at_most("Note", "line one\nline\ttwo", 40).unwrap(), "line one\nline\ttwo");
        let e = at_most("Note", "bell\u{7} and \u{0}", 40).unwrap_err();
        assert_eq!((e.field(), e.to_string().contains("control characters")), (Some("Note"), true));
    }
}
