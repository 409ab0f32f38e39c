//! The console's cookies: the session cookie (HttpOnly, SameSite=Strict, Secure when the request
//! came over TLS) and the login form's CSRF cookie. Only a random token travels; the session lives
//! in the database.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration};

pub const SESSION: &str = "closeout_session";
/// Double-submit token of the login form (there is no session yet to hold it).
pub const LOGIN_CSRF: &str = "closeout_login_csrf";

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
pub fn is_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn strict(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

pub fn session(token: String, secure: bool) -> Cookie<'static> {
    strict(SESSION, token, secure)
}

pub fn login_csrf(token: String, secure: bool) -> Cookie<'static> {
    strict(LOGIN_CSRF, token, secure)
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut cookie = strict(name, String::new(), secure);
    cookie.set_max_age(Duration::ZERO);
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_http_only_strict_and_secure_only_over_tls() {
        let plain = session("t".into(), false).to_string();
        assert!(plain.contains("HttpOnly"), "{plain}");
        assert!(plain.contains("SameSite=Strict"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
        let tls = session("t".into(), true).to_string();
        assert!(tls.contains("Secure"), "{tls}");
    }

    #[test]
    fn removal_expires_at_once() {
        let gone = removal(SESSION, false).to_string();
        assert!(gone.contains("Max-Age=0"), "{gone}");
    }
}
