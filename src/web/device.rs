//! "Firefox 132 on Linux": a readable device from a user-agent string, for
//! the sessions page and the data export. Parsed by `woothee` (a small,
//! self-contained dataset compiled into the binary; nothing is downloaded or
//! read at run time).

use woothee::parser::Parser;
use woothee::woothee::VALUE_UNKNOWN;

fn known(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty() && s != VALUE_UNKNOWN).then_some(s)
}

/// The browser (with its major version) and the operating system, as far as
/// the user agent tells them; "Unknown device" when it tells nothing.
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    let Some(r) = Parser::new().parse(ua) else {
        return "Unknown browser".to_owned();
    };
    let browser = known(r.name).map(|name| match known(r.version) {
        Some(v) => format!("{name} {}", v.split('.').next().unwrap_or(v)),
        None => name.to_owned(),
    });
    match (browser, known(r.os)) {
        (Some(b), Some(os)) => format!("{b} on {os}"),
        (Some(b), None) => b,
        (None, Some(os)) => format!("Unknown browser on {os}"),
        (None, None) => "Unknown browser".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn common_browsers_read_naturally() {
        assert_eq!(
            describe(Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
            )),
            "Firefox 132 on Linux"
        );
        assert_eq!(
            describe(Some(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/131.0.0.0 Safari/537.36"
            )),
            "Chrome 131 on Mac OSX"
        );
        assert_eq!(describe(None), "Unknown device");
        assert_eq!(describe(Some("curl/8.5.0")), "HTTP Library curl");
        assert_eq!(describe(Some("   ")), "Unknown device");
    }
}
