//! Configuration: one typed value, read from environment variables and validated at start-up.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

pub const DEFAULT_LISTEN: &str = "0.0.0.0:5701";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/passkeyd.db";

/// A value that must never be printed: `Debug` shows a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    Sqlite {
        path: PathBuf,
    },
    Postgres {
        url: Secret,
        settings: PostgresSettings,
    },
}

/// Connection settings for PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    pub pool_size: u32,
    pub statement_timeout: std::time::Duration,
    pub connect_timeout: std::time::Duration,
}

/// Where magic-link e-mails go.
#[derive(Debug, Clone)]
pub enum MailConfig {
    Smtp {
        url: Secret,
    },
    File {
        path: PathBuf,
    },
    /// `PASSKEYD_MAIL=log`, for development: the message, with its working sign-in link, is
    /// written to the log.
    Log,
    /// No mail settings: `/magic-links/send` answers 400 `mail_not_configured`.
    Off,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: DatabaseConfig,
    pub management_key: Option<Secret>,
    pub log_format: LogFormat,
    pub mail: MailConfig,
    pub mail_from: String,
    /// Apps younger than this may send magic links only to their admin address.
    pub magic_link_new_app_hours: i64,
    /// A FIDO MDS3 blob to check authenticators against.
    pub mds_file: Option<PathBuf>,
    /// An app to create at start-up when it does not exist; its keys are logged once.
    pub bootstrap_app: Option<String>,
    /// How long in-flight requests may still run after SIGTERM or SIGINT.
    pub shutdown_timeout: Duration,
    /// Time a client has to send a request's headers (`PASSKEYD_HEADER_READ_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// Open client connections at most (`PASSKEYD_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// PEM file of attestation trust roots (`PASSKEYD_ATTESTATION_ROOTS`).
    pub attestation_roots: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limits: RateLimits,
}

/// Requests per minute allowed on the browser (`ApiKey`) and management endpoints; 0 turns a
/// limit off. Each replica counts for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Browser endpoints, per client IP.
    pub per_ip: u32,
    /// Browser endpoints, per app.
    pub per_app: u32,
    /// Management endpoints, per client IP.
    pub management_per_ip: u32,
    /// Failed key checks (any endpoint), per client IP; past it the address gets 429.
    pub failed_auth_per_ip: u32,
    /// IPv6 clients are counted per network of this prefix length (a /64 is one subscriber).
    pub ipv6_prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    pub name: &'static str,
    pub message: String,
}

fn bad(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can pass a map instead of touching the
    /// process environment. Empty values count as unset. Files named by `*_FILE` variables are
    /// read from disk.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::from_sources(lookup, |path| std::fs::read_to_string(path))
    }

    /// Like [`Config::from_lookup`], with `read_file` reading the files that `*_FILE`
    /// variables name (tests pass a map).
    pub fn from_sources(
        lookup: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        // A secret from `name` or from the file `file_var` names (never both), without the
        // file's trailing newline.
        let secret =
            |name: &'static str, file_var: &'static str| -> Result<Option<String>, ConfigError> {
                match (get(name), get(file_var)) {
                    (Some(_), Some(_)) => Err(bad(
                        name,
                        format!("set either {name} or {file_var}, not both"),
                    )),
                    (Some(value), None) => Ok(Some(value)),
                    (None, Some(path)) => {
                        let text = read_file(&path)
                            .map_err(|e| bad(file_var, format!("cannot read '{path}': {e}")))?;
                        let value = text.trim_end_matches(['\r', '\n']);
                        if value.trim().is_empty() {
                            return Err(bad(file_var, format!("'{path}' is empty")));
                        }
                        Ok(Some(value.to_owned()))
                    }
                    (None, None) => Ok(None),
                }
            };

        // The original's ASPNETCORE_HTTP_PORTS is honoured when PASSKEYD_LISTEN is not set.
        let listen = match (get("PASSKEYD_LISTEN"), get("ASPNETCORE_HTTP_PORTS")) {
            (None, Some(ports)) => parse_http_ports(&ports)?,
            (listen, _) => {
                let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
                listen.parse().map_err(|_| {
                    bad(
                        "PASSKEYD_LISTEN",
                        format!("'{listen}' is not a socket address such as 0.0.0.0:5701"),
                    )
                })?
            }
        };

        let database = match secret("PASSKEYD_DATABASE_URL", "PASSKEYD_DATABASE_URL_FILE")? {
            Some(url) => parse_database_url(&url, &get)?,
            None => match get("ConnectionStrings__sqlite__api") {
                Some(connection_string) => DatabaseConfig::Sqlite {
                    path: parse_ado_sqlite(&connection_string)?,
                },
                None => parse_database_url(DEFAULT_DATABASE_URL, &get)?,
            },
        };

        let management_key = secret("PASSKEYD_MANAGEMENT_KEY", "PASSKEYD_MANAGEMENT_KEY_FILE")?
            .or_else(|| get("PasswordlessManagement__ManagementKey"))
            .map(Secret::new);

        let log_format = match get("PASSKEYD_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    "PASSKEYD_LOG_FORMAT",
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };

        let smtp_url = secret("PASSKEYD_SMTP_URL", "PASSKEYD_SMTP_URL_FILE")?;
        let mail =
            match (smtp_url, get("PASSKEYD_MAIL_FILE")) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "PASSKEYD_MAIL_FILE",
                        "set either PASSKEYD_SMTP_URL or PASSKEYD_MAIL_FILE, not both",
                    ))
                }
                (Some(url), None) => MailConfig::Smtp {
                    url: Secret::new(url),
                },
                (None, Some(path)) => MailConfig::File {
                    path: PathBuf::from(path),
                },
                (None, None) => match get("PASSKEYD_MAIL").as_deref().map(str::trim) {
                    None | Some("" | "off") => MailConfig::Off,
                    Some("log") => MailConfig::Log,
                    Some(_) => return Err(bad(
                        "PASSKEYD_MAIL",
                        "must be `log` (write magic links to the log, for development) or `off`",
                    )),
                },
            };
        let mail_from =
            get("PASSKEYD_MAIL_FROM").unwrap_or_else(|| "passkeyd@localhost".to_owned());
        let magic_link_new_app_hours = match get("PASSKEYD_MAGIC_LINK_NEW_APP_HOURS") {
            None => 24,
            Some(v) => v.trim().parse().ok().filter(|h| *h >= 0).ok_or_else(|| {
                bad(
                    "PASSKEYD_MAGIC_LINK_NEW_APP_HOURS",
                    format!("'{v}' is not a number of hours (0 or more)"),
                )
            })?,
        };
        let mds_file = get("PASSKEYD_MDS_FILE").map(PathBuf::from);

        let bootstrap_app = match get("PASSKEYD_BOOTSTRAP_APP") {
            None => None,
            Some(id) if crate::keys::is_valid_app_id(id.trim()) => Some(id.trim().to_owned()),
            Some(id) => {
                return Err(bad(
                    "PASSKEYD_BOOTSTRAP_APP",
                    format!(
                        "'{id}' is not an app id (3 to 62 lower-case letters and digits, \
                         starting with a letter)"
                    ),
                ))
            }
        };
        let shutdown_timeout = match get("PASSKEYD_SHUTDOWN_TIMEOUT_SECS") {
            None => Duration::from_secs(20),
            Some(v) => Duration::from_secs(v.trim().parse().map_err(|_| {
                bad(
                    "PASSKEYD_SHUTDOWN_TIMEOUT_SECS",
                    format!("'{v}' is not a whole number of seconds"),
                )
            })?),
        };
        let header_read_timeout = match get("PASSKEYD_HEADER_READ_TIMEOUT_SECS") {
            None => Duration::from_secs(10),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    bad(
                        "PASSKEYD_HEADER_READ_TIMEOUT_SECS",
                        format!("'{v}' is not a whole number of seconds above 0"),
                    )
                })?,
        };
        let max_connections = match get("PASSKEYD_MAX_CONNECTIONS") {
            None => 10_000,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(
                        "PASSKEYD_MAX_CONNECTIONS",
                        format!("'{v}' is not a number of connections above 0"),
                    )
                })?,
        };
        let trusted_proxies = match get("PASSKEYD_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => parse_trusted_proxies(&list)?,
        };
        let per_minute = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.trim().parse().map_err(|_| {
                    bad(
                        name,
                        format!("'{v}' is not a number of requests per minute (0 = off)"),
                    )
                }),
            }
        };
        let rate_limits = RateLimits {
            per_ip: per_minute("PASSKEYD_RATE_LIMIT_PER_IP", 600)?,
            per_app: per_minute("PASSKEYD_RATE_LIMIT_PER_APP", 300_000)?,
            management_per_ip: per_minute("PASSKEYD_RATE_LIMIT_MANAGEMENT_PER_IP", 120)?,
            failed_auth_per_ip: per_minute("PASSKEYD_RATE_LIMIT_FAILED_AUTH_PER_IP", 60)?,
            ipv6_prefix: match get("PASSKEYD_RATE_LIMIT_IPV6_PREFIX") {
                None => 64,
                Some(v) => v
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|p| (1..=128).contains(p))
                    .ok_or_else(|| {
                        bad(
                            "PASSKEYD_RATE_LIMIT_IPV6_PREFIX",
                            "must be a prefix length, 1 to 128",
                        )
                    })?,
            },
        };

        Ok(Self {
            listen,
            database,
            management_key,
            log_format,
            mail,
            mail_from,
            magic_link_new_app_hours,
            mds_file,
            bootstrap_app,
            shutdown_timeout,
            header_read_timeout,
            max_connections,
            attestation_roots: get("PASSKEYD_ATTESTATION_ROOTS").map(PathBuf::from),
            trusted_proxies,
            rate_limits,
        })
    }
}

/// `ASPNETCORE_HTTP_PORTS` (the original's variable): one port, on every interface.
fn parse_http_ports(value: &str) -> Result<SocketAddr, ConfigError> {
    const NAME: &str = "ASPNETCORE_HTTP_PORTS";
    let ports: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let [port] = ports.as_slice() else {
        return Err(bad(
            NAME,
            format!("'{value}': passkeyd listens on one port; give one, or set PASSKEYD_LISTEN"),
        ));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| bad(NAME, format!("'{port}' is not a port number")))?;
    Ok(SocketAddr::from(([0, 0, 0, 0], port)))
}

/// The SQLite file of an ADO.NET connection string such as `Data Source=/data/api.db`
/// (`ConnectionStrings__sqlite__api`, the original's variable). Other keys are ignored.
fn parse_ado_sqlite(connection_string: &str) -> Result<PathBuf, ConfigError> {
    const NAME: &str = "ConnectionStrings__sqlite__api";
    let source = connection_string.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        let key: String = key
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        matches!(key.as_str(), "datasource" | "filename").then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value)
                .to_owned()
        })
    });
    match source {
        Some(path) if !path.is_empty() && path != ":memory:" => Ok(PathBuf::from(path)),
        Some(_) => Err(bad(
            NAME,
            "needs a file path: an in-memory database would lose every passkey on restart",
        )),
        None => Err(bad(
            NAME,
            "has no Data Source; expected for example 'Data Source=/data/api.db'",
        )),
    }
}

/// `PASSKEYD_TRUSTED_PROXIES`: comma-separated addresses and CIDR ranges.
fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    bad(
                        "PASSKEYD_TRUSTED_PROXIES",
                        format!("'{entry}' is not an IP address or CIDR range such as 10.0.0.0/8"),
                    )
                })
        })
        .collect()
}

fn parse_database_url(
    url: &str,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<DatabaseConfig, ConfigError> {
    const NAME: &str = "PASSKEYD_DATABASE_URL";
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let number = |name: &'static str, default: u64, min: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= min)
                    .ok_or_else(|| {
                        bad(
                            name,
                            format!("'{v}' is not a whole number of at least {min}"),
                        )
                    }),
            }
        };
        let pool_size = number("PASSKEYD_DB_POOL_SIZE", 16, 1)?;
        return Ok(DatabaseConfig::Postgres {
            url: Secret::new(url),
            settings: PostgresSettings {
                pool_size: u32::try_from(pool_size)
                    .map_err(|_| bad("PASSKEYD_DB_POOL_SIZE", "is too large"))?,
                statement_timeout: std::time::Duration::from_millis(number(
                    "PASSKEYD_DB_STATEMENT_TIMEOUT_MS",
                    5_000,
                    1,
                )?),
                connect_timeout: std::time::Duration::from_millis(number(
                    "PASSKEYD_DB_CONNECT_TIMEOUT_MS",
                    3_000,
                    1,
                )?),
            },
        });
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            bad(
                NAME,
                "must start with sqlite:// (for example sqlite://./data/passkeyd.db) or \
                 postgres:// (for example postgres://user:password@host:5432/passkeyd)",
            )
        })?;
    // Drop sqlx-style options such as `?mode=rwc`: passkeyd sets its own.
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(bad(
            NAME,
            "needs a file path: an in-memory database would lose every passkey on restart",
        ));
    }
    Ok(DatabaseConfig::Sqlite {
        path: PathBuf::from(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.listen.to_string(), "0.0.0.0:5701");
        assert!(c.management_key.is_none());
        let DatabaseConfig::Sqlite { path } = c.database else {
            panic!("SQLite is the default")
        };
        assert_eq!(path, PathBuf::from("./data/passkeyd.db"));
    }

    #[test]
    fn postgres_urls_and_settings() {
        let c = config(&[
            ("PASSKEYD_DATABASE_URL", "postgres://u:pw@db:5432/passkeyd"),
            ("PASSKEYD_DB_POOL_SIZE", "4"),
        ])
        .unwrap();
        let DatabaseConfig::Postgres { url, settings } = c.database else {
            panic!("a postgres URL selects PostgreSQL")
        };
        assert_eq!(url.expose(), "postgres://u:pw@db:5432/passkeyd");
        assert_eq!(settings.pool_size, 4);
        assert_eq!(settings.statement_timeout.as_millis(), 5_000);
        assert!(!format!("{:?}", c.mail).contains("pw"));
        let e = config(&[
            ("PASSKEYD_DATABASE_URL", "postgresql://db/x"),
            ("PASSKEYD_DB_POOL_SIZE", "0"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "PASSKEYD_DB_POOL_SIZE");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&[("PASSKEYD_LISTEN", "nope")]).unwrap_err();
        assert_eq!(e.name, "PASSKEYD_LISTEN");
        let e = config(&[("PASSKEYD_DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.name, "PASSKEYD_DATABASE_URL");
        assert!(e.to_string().starts_with("PASSKEYD_DATABASE_URL: "));
    }

    #[test]
    fn sqlite_urls() {
        let c = config(&[("PASSKEYD_DATABASE_URL", "sqlite:///var/lib/p.db?mode=rwc")]).unwrap();
        let DatabaseConfig::Sqlite { path } = c.database else {
            panic!("a sqlite URL selects SQLite")
        };
        assert_eq!(path, PathBuf::from("/var/lib/p.db"));
    }

    #[test]
    fn secrets_are_not_printed() {
        let c = config(&[
            ("PASSKEYD_MANAGEMENT_KEY", "topsecret"),
            ("PASSKEYD_SMTP_URL", "smtp://user:mailsecret@host:25"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("topsecret"));
        assert!(!printed.contains("mailsecret"));
    }

    /// Configuration from variables and from files the `*_FILE` variables name.
    fn config_with_files(
        pairs: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Result<Config, ConfigError> {
        Config::from_sources(
            |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            },
            |path| {
                files
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, text)| (*text).to_owned())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
            },
        )
    }

    #[test]
    fn secrets_from_files() {
        let c = config_with_files(
            &[
                ("PASSKEYD_MANAGEMENT_KEY_FILE", "/run/secrets/mk"),
                ("PASSKEYD_DATABASE_URL_FILE", "/run/secrets/db"),
                ("PASSKEYD_SMTP_URL_FILE", "/run/secrets/smtp"),
            ],
            &[
                ("/run/secrets/mk", "from-a-file\n"),
                ("/run/secrets/db", "postgres://u:pw@db/passkeyd\r\n"),
                ("/run/secrets/smtp", "smtp://mail:25"),
            ],
        )
        .unwrap();
        assert_eq!(c.management_key.unwrap().expose(), "from-a-file");
        let DatabaseConfig::Postgres { url, .. } = c.database else {
            panic!("the file's URL selects PostgreSQL")
        };
        assert_eq!(url.expose(), "postgres://u:pw@db/passkeyd");
        let MailConfig::Smtp { url } = c.mail else {
            panic!("the file's SMTP URL is used")
        };
        assert_eq!(url.expose(), "smtp://mail:25");
    }

    #[test]
    fn secret_files_errors_name_the_variable() {
        for name in [
            "PASSKEYD_MANAGEMENT_KEY",
            "PASSKEYD_DATABASE_URL",
            "PASSKEYD_SMTP_URL",
        ] {
            let file_var = format!("{name}_FILE");
            let both = [(name, "sqlite://x.db"), (file_var.as_str(), "/s")];
            let e = config_with_files(&both, &[("/s", "sqlite://y.db")]).unwrap_err();
            assert_eq!(e.name, name);
            assert!(e.to_string().contains(&file_var), "{e}");

            let missing = [(file_var.as_str(), "/nowhere")];
            let e = config_with_files(&missing, &[]).unwrap_err();
            assert_eq!(e.name, file_var);
            assert!(e.to_string().contains("/nowhere"), "{e}");

            let empty = [(file_var.as_str(), "/empty")];
            let e = config_with_files(&empty, &[("/empty", "\n")]).unwrap_err();
            assert_eq!(e.name, file_var);
        }
    }

    #[test]
    fn secret_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("management-key");
        std::fs::write(&path, "on-disk\n").unwrap();
        let path = path.to_str().unwrap().to_owned();
        let c = config(&[("PASSKEYD_MANAGEMENT_KEY_FILE", &path)]).unwrap();
        assert_eq!(c.management_key.unwrap().expose(), "on-disk");
    }

    #[test]
    fn original_names() {
        let c = config(&[
            ("PasswordlessManagement__ManagementKey", "original-key"),
            (
                "ConnectionStrings__sqlite__api",
                "Data Source=/data/api.db;Cache=Shared",
            ),
            ("ASPNETCORE_HTTP_PORTS", "8080"),
        ])
        .unwrap();
        assert_eq!(c.management_key.unwrap().expose(), "original-key");
        let DatabaseConfig::Sqlite { path } = c.database else {
            panic!("the connection string selects SQLite")
        };
        assert_eq!(path, PathBuf::from("/data/api.db"));
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");

        let c = config(&[(
            "ConnectionStrings__sqlite__api",
            "datasource = 'rel/api.db'",
        )])
        .unwrap();
        let DatabaseConfig::Sqlite { path } = c.database else {
            panic!("SQLite")
        };
        assert_eq!(path, PathBuf::from("rel/api.db"));

        for bad_value in ["Cache=Shared", "Data Source=:memory:"] {
            let e = config(&[("ConnectionStrings__sqlite__api", bad_value)]).unwrap_err();
            assert_eq!(e.name, "ConnectionStrings__sqlite__api");
        }
        for bad_value in ["http", "80;8080", "70000"] {
            let e = config(&[("ASPNETCORE_HTTP_PORTS", bad_value)]).unwrap_err();
            assert_eq!(e.name, "ASPNETCORE_HTTP_PORTS");
        }
    }

    #[test]
    fn passkeyd_names_win_over_the_originals() {
        let c = config_with_files(
            &[
                ("PasswordlessManagement__ManagementKey", "original-key"),
                ("PASSKEYD_MANAGEMENT_KEY_FILE", "/mk"),
                ("ConnectionStrings__sqlite__api", "Data Source=/data/api.db"),
                ("PASSKEYD_DATABASE_URL", "sqlite:///var/lib/p.db"),
                ("ASPNETCORE_HTTP_PORTS", "8080"),
                ("PASSKEYD_LISTEN", "127.0.0.1:9000"),
            ],
            &[("/mk", "own-key\n")],
        )
        .unwrap();
        assert_eq!(c.management_key.unwrap().expose(), "own-key");
        let DatabaseConfig::Sqlite { path } = c.database else {
            panic!("SQLite")
        };
        assert_eq!(path, PathBuf::from("/var/lib/p.db"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        let c = config(&[
            ("PasswordlessManagement__ManagementKey", "original-key"),
            ("PASSKEYD_MANAGEMENT_KEY", "own-key"),
        ])
        .unwrap();
        assert_eq!(c.management_key.unwrap().expose(), "own-key");
    }

    #[test]
    fn operations_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bootstrap_app, None);
        assert_eq!(c.shutdown_timeout, Duration::from_secs(20));
        assert!(c.trusted_proxies.is_empty());

        let c = config(&[
            ("PASSKEYD_BOOTSTRAP_APP", "myapp"),
            ("PASSKEYD_SHUTDOWN_TIMEOUT_SECS", "5"),
            (
                "PASSKEYD_TRUSTED_PROXIES",
                "10.0.0.0/8, 192.168.1.10,::1 ,fd00::/8",
            ),
        ])
        .unwrap();
        assert_eq!(c.bootstrap_app.as_deref(), Some("myapp"));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(5));
        let proxies: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(
            proxies,
            ["10.0.0.0/8", "192.168.1.10/32", "::1/128", "fd00::/8"]
        );

        for (name, value) in [
            ("PASSKEYD_BOOTSTRAP_APP", "My App"),
            ("PASSKEYD_SHUTDOWN_TIMEOUT_SECS", "-1"),
            ("PASSKEYD_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
            ("PASSKEYD_TRUSTED_PROXIES", "10.0.0.0/33"),
        ] {
            let e = config(&[(name, value)]).unwrap_err();
            assert_eq!(e.name, name, "{value}");
        }
    }

    #[test]
    fn mail_settings() {
        assert!(matches!(config(&[]).unwrap().mail, MailConfig::Off));
        assert!(matches!(
            config(&[("PASSKEYD_MAIL", "log")]).unwrap().mail,
            MailConfig::Log
        ));
        assert!(config(&[("PASSKEYD_MAIL", "smtp")]).is_err());
        let e = config(&[
            ("PASSKEYD_SMTP_URL", "smtp://h"),
            ("PASSKEYD_MAIL_FILE", "/tmp/m"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "PASSKEYD_MAIL_FILE");
        let e = config(&[("PASSKEYD_MAGIC_LINK_NEW_APP_HOURS", "-1")]).unwrap_err();
        assert_eq!(e.name, "PASSKEYD_MAGIC_LINK_NEW_APP_HOURS");
    }
}
