//! Types and rules shared by the browser and the server. A rule lives here once; the form and
//! the server both call it.

/// Declares an enum whose every variant has a stable code (stored, or on the wire) and words for
/// people, once: the enum, `ALL` in declaration order, `code`, `label`, and `parse` (the variant a
/// code names, `None` for a code this build does not know).
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal, $label:literal;)* }) => {
        $(#[$meta])*
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// Every variant, in declaration order (the order forms and filters list them).
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable code, such as `member.blocked`.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// In words, for people.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)*
                }
            }

            /// The variant a code names (`None` for a code this build does not know).
            pub fn parse(code: &str) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

pub mod account;
pub mod approvals;
pub mod audit;
pub mod apps;
pub mod error;
pub mod mcc;
pub mod minis;
pub mod page;
pub mod policy;
pub mod text;
pub mod webhooks;
pub mod workspace;

pub use error::{AppError, Missing, OrMissing};

/// Percent-encodes a URL query value: everything but the unreserved characters of RFC 3986.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A return target inside this console (`/w/Acme/members?page=2`), or `None` for anything that
/// could lead elsewhere: another site, `//host`, `/\\host`, a scheme, control characters.
pub fn local_path(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && n.len() <= 512
        && n.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_targets() {
        assert_eq!(local_path(Some("/invitations/ab?x=1")), Some("/invitations/ab?x=1".into()));
        for bad in ["//evil.example", "https://evil.example", "javascript:alert(1)", "/\\evil", "", "relative", "/a b"] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
        assert_eq!(local_path(None), None);
    }
}
