//! The console's HTTP client for tests: a browser-like client that logs in through the login
//! form and keeps the session and CSRF cookies itself.

use closeout_tests::{TestApp, TestUser};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

/// A browser-like HTTP client that keeps the console cookies itself.
pub(crate) struct Console {
    http: reqwest::Client,
    base: String,
    cookie: String,
    pub(crate) csrf: String,
}

pub(crate) fn encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn cookie_of(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let (k, val) = pair.split_once('=')?;
        (k == name).then(|| (val.to_owned(), v.to_owned()))
    })
}

pub(crate) fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_owned()
}

impl Console {
    pub(crate) fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub(crate) async fn login(app: &TestApp, user: &TestUser) -> Self {
        let http = Self::client();
        let page = http.get(app.url("/login")).send().await.unwrap();
        let (pre, _) = cookie_of(&page, "closeout_login_csrf").expect("login csrf cookie");
        let token = hidden_csrf(&page.text().await.unwrap());
        let res = http
            .post(app.url("/login"))
            .header(COOKIE, format!("closeout_login_csrf={pre}"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(&[
                ("username", &user.username),
                ("password", &user.password),
                ("csrf", &token),
                ("next", "/console/"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (session, _) = cookie_of(&res, "closeout_session").expect("session cookie");
        let cookie = format!("closeout_session={session}");
        let home = http
            .get(app.url("/console/"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let csrf = hidden_csrf(&home.text().await.unwrap());
        Self {
            http,
            base: app.base.clone(),
            cookie,
            csrf,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(pairs))
            .send()
            .await
            .unwrap()
    }
}
