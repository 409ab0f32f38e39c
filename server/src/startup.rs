//! Building and running the server: connect, migrate, load keys, bind, serve.
//! `Application::build` binds before returning, so tests can ask for port 0 and read the port.

use crate::api::state::{AppState, password_policy};
use crate::api::{self, middleware, problem};
use crate::auth::jwt::JwtKeys;
use crate::auth::password;
use crate::auth::rate_limit::LoginLimiter;
use crate::db::{Db, migrate, users};
use crate::domain::issues::escalation::{self, EscalationPolicy};
use crate::domain::photos::{self, PhotoService};
use crate::settings::Settings;
use crate::telemetry::Metrics;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, HttpServer, http::header, web};
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use tracing_actix_web::TracingLogger;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    escalation: Option<(EscalationPolicy, std::time::Duration)>,
}

/// Connects to the configured database and brings its schema up to date.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    crate::db::connection::create_private_dir(&settings.data_dir)?;
    let target = settings.database_target();
    let db = Db::connect(&target, &settings.database)?;
    let applied = migrate::run_pending(&mut *db.get()?)?;
    if applied.is_empty() {
        tracing::info!(database = %target.describe(), "database schema is up to date");
    } else {
        tracing::info!(database = %target.describe(), ?applied, "applied migrations");
    }
    let seeded = crate::domain::inspections::defaults::seed(&mut *db.get()?, crate::domain::now())
        .map_err(|e| anyhow::anyhow!("seeding the default checklist templates: {e}"))?;
    if seeded > 0 {
        tracing::info!(seeded, "added the default checklist templates");
    }
    Ok(db)
}

impl Application {
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = open_database(&settings)?;
        let keys = JwtKeys::load_or_create(settings.auth.jwt_secret.as_ref(), &settings.data_dir)?;
        let listener = TcpListener::bind(&settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        if users::count(&mut *db.get()?)? == 0 {
            announce_first_admin(&settings, port);
        }
        let state = AppState {
            db,
            keys: Arc::new(keys),
            login_limiter: Arc::new(LoginLimiter::new(
                settings.auth.login_per_username_per_minute,
                settings.auth.login_per_ip_per_minute,
            )),
            metrics: Arc::new(Metrics::new()?),
            decoy_hash: Arc::new(password::decoy_hash(password_policy(&settings))),
            photos: Arc::new(PhotoService::new(&settings)?),
            settings: Arc::new(settings),
        };
        let ledger = &state.settings.ledger;
        let policy = EscalationPolicy::new(ledger.escalation_days.clone())?;
        let escalation = (ledger.escalation_interval_secs > 0).then(|| {
            (
                policy,
                std::time::Duration::from_secs(ledger.escalation_interval_secs),
            )
        });
        let http = &state.settings.http;
        let app_state = state.clone();
        let openapi = api::openapi_document();
        let mut server = HttpServer::new(move || {
            let json_limit = app_state.settings.http.json_limit_bytes;
            App::new()
                .app_data(web::Data::new(app_state.clone()))
                .app_data(
                    web::JsonConfig::default()
                        .limit(json_limit)
                        .error_handler(problem::json_error),
                )
                .app_data(web::PathConfig::default().error_handler(problem::path_error))
                .app_data(web::QueryConfig::default().error_handler(problem::query_error))
                .wrap(from_fn(middleware::head_as_get))
                .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
                .wrap(from_fn(api::text::refuse_control_in_query))
                .wrap(from_fn(middleware::observe))
                .wrap(TracingLogger::default())
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header((header::LOCATION, "/docs/"))
                            .finish()
                    }),
                )
                .configure(|cfg| api::configure(cfg, openapi.clone()))
                .configure(crate::console::configure)
                .default_service(web::to(problem::route_not_found))
        })
        .listen(listener)?
        .shutdown_timeout(http.shutdown_timeout_secs);
        if let Some(workers) = http.workers {
            server = server.workers(workers.max(1));
        }
        tracing::info!(port, photos = state.photos.store.describe(), "listening");
        Ok(Self {
            port,
            server: server.run(),
            state,
            escalation,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle to stop the server gracefully (SIGTERM and Ctrl-C do the same).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped. Beside it: the escalation scheduler, the periodic clean-up of
    /// abandoned uploads (every replica runs it; deleting what another already deleted is
    /// harmless), and once at start the read of the statistics' copy of the issues, so the first
    /// report does not wait for it. They stop with the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let warm = tokio::spawn(warm_figures(self.state.db.clone()));
        let scheduler = self.escalation.map(|(policy, interval)| {
            let offset = self.state.settings.ledger.zone();
            tokio::spawn(escalation::schedule(
                self.state.db.clone(),
                policy,
                offset,
                interval,
                self.state.metrics.escalations.clone(),
            ))
        });
        let every = self.state.settings.photos.cleanup_interval_secs;
        let cleanup = (every > 0).then(|| {
            tokio::spawn(photos::cleanup_loop(
                self.state.db.clone(),
                self.state.photos.staging_dir.clone(),
                std::time::Duration::from_secs(every),
            ))
        });
        let result = self.server.await;
        warm.abort();
        for task in [scheduler, cleanup].into_iter().flatten() {
            task.abort();
        }
        result
    }
}

/// Reads the statistics' copy of every issue (`db::issue_figures`) once, in the background.
async fn warm_figures(db: Db) {
    let started = std::time::Instant::now();
    let figures = db.figures();
    match db
        .run(move |conn| Ok(figures.read(conn, <[_]>::len)?))
        .await
    {
        Ok((issues, _)) => tracing::info!(
            issues,
            ms = started.elapsed().as_millis() as u64,
            "read the statistics' copy of the issues"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the statistics' copy of the issues; the first report will")
        }
    }
}

fn announce_first_admin(settings: &Settings, port: u16) {
    let host = settings
        .listen
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    tracing::warn!(
        "no user accounts exist yet; create the first administrator with `closeout user add`"
    );
    // Not eprintln!: it panics when stderr is refused (a log file on a full disk).
    let _ = writeln!(
        std::io::stderr(),
        "\n  No user accounts exist yet. Create the first administrator (run it with the same\n  \
         CLOSEOUT_DATA_DIR / CLOSEOUT_DATABASE_URL as this server):\n\n    \
         closeout user add admin --display-name 管理员 --role admin\n\n  \
         It prints a generated password (or reads one with --password-stdin). Then log in:\n\n    \
         curl -s -X POST http://{host}:{port}/api/v1/auth/login -H 'content-type: application/json' \\\n      \
         -d '{{\"username\":\"admin\",\"password\":\"<password>\",\"device_id\":\"my-laptop\"}}'\n"
    );
}
