//! Configuration: one typed value, read from environment variables and validated at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// Development default: the message is written to the log.
    Log,
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
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let listen = get("PASSKEYD_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen.parse().map_err(|_| {
            bad(
                "PASSKEYD_LISTEN",
                format!("'{listen}' is not a socket address such as 0.0.0.0:5701"),
            )
        })?;

        let database_url =
            get("PASSKEYD_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let database = parse_database_url(&database_url, &get)?;

        let management_key = get("PASSKEYD_MANAGEMENT_KEY").map(Secret::new);

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

        let mail = match (get("PASSKEYD_SMTP_URL"), get("PASSKEYD_MAIL_FILE")) {
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
            (None, None) => MailConfig::Log,
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

        Ok(Self {
            listen,
            database,
            management_key,
            log_format,
            mail,
            mail_from,
            magic_link_new_app_hours,
            mds_file,
        })
    }
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

    #[test]
    fn mail_settings() {
        assert!(matches!(config(&[]).unwrap().mail, MailConfig::Log));
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
