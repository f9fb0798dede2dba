//! The passkeyd process: configuration, logging, the listener, signals and sub-commands.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use passkeyd::clock::SystemClock;
use passkeyd::config::{Config, LogFormat};
use passkeyd::http::serve::{self as server, ConnectionLimits};
use passkeyd::wire::CreateAppRequest;
use passkeyd::AppState;

const USAGE: &str = "\
usage:
  passkeyd [serve]              run the server (configuration from PASSKEYD_* variables)
  passkeyd apps create <appId>  create an app and print its keys once
  passkeyd healthcheck          exit 0 when the local server answers /health/http
  passkeyd --version";

/// mimalloc rather than glibc's allocator: a request makes many small short-lived allocations,
/// where glibc's took ~9% of the server's CPU under load (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("passkeyd: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("passkeyd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.as_slice() {
            [] | ["serve"] => serve(config).await,
            ["apps", "create", app_id] => create_app(config, app_id).await,
            ["healthcheck"] => healthcheck(&config).await,
            ["--version" | "-V"] => {
                println!("passkeyd {}", env!("CARGO_PKG_VERSION"));
                Ok(())
            }
            ["--help" | "-h" | "help"] => {
                println!("{USAGE}");
                Ok(())
            }
            _ => Err(anyhow::anyhow!("unknown arguments\n{USAGE}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passkeyd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("PASSKEYD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // webauthn-rs logs ceremony state (challenges, client data) at debug and trace: never
    // let a log filter turn that on.
    for directive in ["webauthn_rs_core=info", "webauthn_rs_proto=info"] {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    // Colours only for a person at a terminal, never in files or container logs.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(config.log_format);
    let state = passkeyd::open(&config, Arc::new(SystemClock)).await?;
    if state.management_key.is_none() {
        tracing::warn!(
            "PASSKEYD_MANAGEMENT_KEY is not set: management endpoints are off (they answer 401); \
             create apps with `passkeyd apps create <appId>`"
        );
    }
    tracing::info!(mail = %state.mailer.describe(), "magic-link e-mail");
    if let Some(metadata) = &state.metadata {
        tracing::info!(
            authenticators = metadata.len(),
            next_update = metadata.next_update().unwrap_or("unknown"),
            "authenticator metadata loaded"
        );
    }
    // Bind before the bootstrap app is made: its keys are logged once, and a start that then
    // failed on a taken port would lose them.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    if let Some(app_id) = &config.bootstrap_app {
        passkeyd::bootstrap::run(&state, app_id).await?;
    }
    tokio::spawn(maintenance(state.clone()));
    let address = listener.local_addr().unwrap_or(config.listen);
    tracing::info!(%address, database = ?config.database, "passkeyd listening");
    let app = passkeyd::http::router(state.clone());
    let limits = ConnectionLimits {
        header_read_timeout: config.header_read_timeout,
        max_connections: config.max_connections,
    };
    // On SIGTERM/SIGINT the listener closes at once and in-flight requests get
    // PASSKEYD_SHUTDOWN_TIMEOUT_SECS to finish; then they are abandoned.
    let finished = server::serve(
        listener,
        app,
        limits,
        shutdown_signal(),
        config.shutdown_timeout,
    )
    .await;
    if !finished {
        tracing::warn!(
            timeout_secs = config.shutdown_timeout.as_secs(),
            "shutdown timeout reached: abandoning requests still in flight"
        );
    }
    // Connections still held by abandoned requests are not waited for long.
    if tokio::time::timeout(Duration::from_secs(2), state.store.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still in use at exit");
    }
    tracing::info!("passkeyd stopped");
    Ok(())
}

async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        passkeyd::service::maintenance::run_once(&state).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: no new connections; waiting for requests in flight");
}

async fn create_app(config: Config, app_id: &str) -> anyhow::Result<()> {
    let state = passkeyd::open(&config, Arc::new(SystemClock)).await?;
    let created = passkeyd::service::apps::create(&state, app_id, CreateAppRequest::default())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.title))?;
    println!("{}", serde_json::to_string_pretty(&created)?);
    Ok(())
}

async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = config.listen.port();
    let mut stream = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await??;
    stream
        .write_all(b"GET /health/http HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut response)).await??;
    if response.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("the server did not answer 200")
    }
}
