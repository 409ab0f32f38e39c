//! The console's static files, compiled into the binary (no CDN, works offline): the vendored htmx
//! (npm `htmx.org` 2.0.11, `dist/htmx.min.js`), the console's own script and its style sheet. Each
//! is served under a name that carries a hash of its bytes, so browsers may cache it forever
//! and a new build is fetched at once; pages reference it with subresource integrity.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use base64::Engine;
use sha2::{Digest, Sha256, Sha384};
use std::sync::LazyLock;

pub struct Asset {
    /// The name in the URL: `htmx-<hash>.js`.
    pub file: String,
    /// `sha384-…` for the `integrity` attribute.
    pub integrity: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Self {
        let hash = hex::encode(&Sha256::digest(bytes)[..8]);
        let integrity = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
        );
        Self {
            file: format!("{stem}-{hash}.{ext}"),
            integrity,
            content_type,
            bytes,
        }
    }

    /// The URL pages use.
    pub fn url(&self) -> String {
        format!("/console/assets/{}", self.file)
    }
}

pub static HTMX: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "htmx",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/htmx-2.0.11.min.js"),
    )
});

pub static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "console",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/console.js"),
    )
});

pub static STYLE: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "console",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/console.css"),
    )
});

/// `GET /console/assets/{file}`: only the current hashed names exist.
pub async fn serve(file: web::Path<String>) -> HttpResponse {
    for asset in [&*HTMX, &*SCRIPT, &*STYLE] {
        if asset.file == *file {
            return HttpResponse::Ok()
                .content_type(asset.content_type)
                .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
                .insert_header(("X-Content-Type-Options", "nosniff"))
                .body(asset.bytes);
        }
    }
    HttpResponse::NotFound().finish()
}
