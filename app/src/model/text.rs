//! The rules of free-text fields (names, addresses, reasons, notes), written once: the value is
//! trimmed, and each refusal names the field and the rule.

use super::AppError;

/// `raw` trimmed, if it is at most `max` characters (it may be empty).
pub fn at_most(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(text.to_string())
}

/// `raw` trimmed, if it is not empty and at most `max` characters.
pub fn required(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    at_most(field, raw, max)
}

/// A name: [`required`], on one line without control characters.
pub fn name(field: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let name = required(field, raw, max)?;
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must not contain control characters"));
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
    }
}
