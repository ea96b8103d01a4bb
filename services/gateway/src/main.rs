//! The `vogate` command: `vogate serve [--config FILE] [--db URL] [--data DIR] [--workdir DIR]
//! [--bind ADDR] [--base-url URL]`.

use actix_web::{App, HttpServer};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vo_common::config::FileConfig;
use vogate::settings::{resolve, Flags};

/// vogate: IVOA data-access services (TAP, ObsCore) in one binary.
#[derive(Debug, Parser)]
#[command(name = "vogate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest the data tree into ivoa.ObsCore and serve TAP over it.
    Serve {
        /// TOML configuration file (see vogate.example.toml); flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Database URL: sqlite:PATH (default: sqlite:<workdir>/vogate.db).
        #[arg(long)]
        db: Option<String>,
        /// Root of the FITS data tree (read only). Without it, a demo sky is written into the
        /// workdir and served.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Working directory for the database and anything vogate writes (default ./vogate-work).
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Public base URL of the service (default http://<bind>).
        #[arg(long)]
        base_url: Option<String>,
    },
}

fn main() -> ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            db,
            data,
            workdir,
            bind,
            base_url,
        } => {
            let (file, dir) = match &config {
                Some(path) => {
                    let text = match std::fs::read_to_string(path) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!("vogate: cannot read config {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    };
                    match FileConfig::from_toml(&text) {
                        Ok(f) => (f, path.parent().map(|p| p.to_path_buf())),
                        Err(e) => {
                            eprintln!("vogate: config {}: {e}", path.display());
                            return ExitCode::from(2);
                        }
                    }
                }
                None => (FileConfig::default(), None),
            };
            let flags = Flags {
                db,
                data,
                workdir,
                bind,
                base_url,
            };
            let settings = match resolve(flags, file, dir.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("vogate: {e}");
                    return ExitCode::from(2);
                }
            };
            serve(settings)
        }
    }
}

fn serve(settings: vogate::settings::Settings) -> ExitCode {
    let gw = match vogate::prepare(settings) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("vogate: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = gw.settings.bind.clone();
    for (what, url) in vogate::endpoints(&gw.settings.base_url) {
        tracing::info!("{what}: {url}");
    }
    let run = actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("Server", concat!("vogate/", env!("CARGO_PKG_VERSION")))),
                )
                .configure(vogate::routes(&gw))
        })
        // Results stream in chunks; without TCP_NODELAY, Nagle's algorithm holds the
        // last small chunk until the client's delayed ACK, about 40 ms later.
        .tcp_nodelay(true)
        .bind(&bind)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
        tracing::info!("listening on {bind}");
        server.run().await
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vogate: server error: {e}");
            ExitCode::from(1)
        }
    }
}
