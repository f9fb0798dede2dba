//! Outgoing e-mail (magic sign-in links): one [`Mailer`] chosen at start-up, so the rest of the
//! server only ever calls [`Mailer::send`] and never cares how a message leaves the process.
//!
//! Three modes: SMTP for production (via `lettre`, rustls for TLS), a file for tests and
//! staging without a mail server, and the log for local development.
//!
//! Body encoding: an ASCII body whose lines fit the RFC 5322 limit (998 octets) is sent as
//! `7bit`, unchanged, so a sign-in URL appears verbatim in the raw message (what a test SMTP
//! sink or the file mode shows). lettre's own choice would switch to quoted-printable at 76
//! characters, which folds long lines and rewrites every `=` as `=3D`. Any other body
//! (non-ASCII, longer lines) falls back to lettre's choice of quoted-printable or base64,
//! which every mail client decodes and which, unlike `8bit`, needs nothing from the server.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Bounds connecting and every SMTP command, so a dead mail server cannot hold a request
/// (and its connection slot) for lettre's default of a minute.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Written after each message in file mode, so consecutive messages can be told apart.
const FILE_SEPARATOR: &[u8] = b"----- end of message (passkeyd) -----\r\n";

/// Longest line, without its CRLF, that RFC 5322 section 2.1.1 allows.
const MAX_LINE_OCTETS: usize = 998;

/// One message to send: a plain-text body and an HTML alternative of the same content.
#[derive(Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Shows recipient and subject only: the bodies carry a sign-in link, a bearer credential.
impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Found at start-up: the server should refuse to start rather than fail on the first mail.
    #[error("mail configuration: {0}")]
    Config(String),
    /// This one message could not be built or delivered.
    #[error("sending mail: {0}")]
    Send(String),
}

/// How mail leaves the process.
#[derive(Clone)]
pub enum MailerConfig {
    /// `smtp://[user:pass@]host[:port]` (plain; add `?tls=required` for STARTTLS, or
    /// `?tls=opportunistic`) or `smtps://…` (implicit TLS). The URL may hold a password:
    /// it is never printed, [`Mailer::describe`] shows scheme, host, port and TLS mode only.
    Smtp { url: String, from: String },
    /// Appends each rendered message to `path`.
    File { path: PathBuf, from: String },
    /// Logs recipient, subject and text body at INFO.
    Log { from: String },
    /// Sends nothing; see [`Mailer::is_configured`].
    Off { from: String },
}

/// Redacts the SMTP URL, which may contain a password.
impl fmt::Debug for MailerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Smtp { url, from } => f
                .debug_struct("Smtp")
                .field(
                    "url",
                    &describe_smtp_url(url).unwrap_or_else(|_| "***".into()),
                )
                .field("from", from)
                .finish(),
            Self::File { path, from } => f
                .debug_struct("File")
                .field("path", path)
                .field("from", from)
                .finish(),
            Self::Log { from } => f.debug_struct("Log").field("from", from).finish(),
            Self::Off { from } => f.debug_struct("Off").field("from", from).finish(),
        }
    }
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        description: String,
    },
    File {
        path: PathBuf,
        /// Serialises appends so concurrent messages never interleave in the file.
        lock: Mutex<()>,
    },
    Log,
    Off,
}

/// Sends [`Mail`]s. `Send + Sync`; share it in an `Arc`. Without lettre's `pool` feature each
/// SMTP message uses its own connection, which is ample for sign-in links.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &self.describe())
            .finish()
    }
}

impl Mailer {
    /// Checks the sender address and, for SMTP, the URL (scheme, host, TLS mode), so mistakes
    /// stop the server at start-up. Does not connect: the mail server may come up later.
    pub fn new(config: MailerConfig) -> Result<Self, MailError> {
        let (from, transport) = match config {
            MailerConfig::Smtp { url, from } => {
                let description = describe_smtp_url(&url)?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    // lettre's errors name the problem, never the URL or its password.
                    .map_err(|e| MailError::Config(format!("invalid SMTP URL: {e}")))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                (
                    from,
                    Transport::Smtp {
                        transport,
                        description,
                    },
                )
            }
            MailerConfig::File { path, from } => (
                from,
                Transport::File {
                    path,
                    lock: Mutex::new(()),
                },
            ),
            MailerConfig::Log { from } => (from, Transport::Log),
            MailerConfig::Off { from } => (from, Transport::Off),
        };
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Config(format!("invalid sender address: {e}")))?;
        Ok(Self { from, transport })
    }

    /// Builds the message (checking the recipient) and hands it to the configured transport.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.build(mail)?;
        match &self.transport {
            Transport::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::Send(format!("SMTP: {e}")))?;
            }
            Transport::File { path, lock } => {
                let mut bytes = message.formatted();
                if !bytes.ends_with(b"\r\n") {
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(FILE_SEPARATOR);
                let io_error = |e: std::io::Error| {
                    MailError::Send(format!("writing to {}: {e}", path.display()))
                };
                let _guard = lock.lock().await;
                let mut file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(io_error)?;
                file.write_all(&bytes).await.map_err(io_error)?;
                // tokio's File completes writes in the background; flush waits for them.
                file.flush().await.map_err(io_error)?;
            }
            Transport::Log => {
                // Development only: the text body holds a working sign-in link, so it lands in
                // the log. Acceptable solely because this mode is chosen explicitly
                // (`PASSKEYD_MAIL=log`); without mail settings nothing is sent at all.
                tracing::info!(
                    to = %mail.to,
                    subject = %mail.subject,
                    text = %mail.text,
                    "mail not sent (log mode)"
                );
            }
            Transport::Off => {
                return Err(MailError::Config("no mail settings".to_owned()));
            }
        }
        Ok(())
    }

    /// One line for the start-up log, without credentials: e.g.
    /// `smtp://mail.example.com:587 (STARTTLS)`, `file /var/mail.txt`, `log`.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { description, .. } => description.clone(),
            Transport::File { path, .. } => format!("file {}", path.display()),
            Transport::Log => "log".to_owned(),
            Transport::Off => "off (no mail settings; magic links are refused)".to_owned(),
        }
    }

    /// Whether mail goes anywhere; without settings, magic links are refused up front.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        !matches!(self.transport, Transport::Off)
    }

    fn build(&self, mail: &Mail) -> Result<Message, MailError> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| MailError::Send(format!("invalid recipient address: {e}")))?;
        // Some relays add a Message-ID, some spam filters penalise its absence: set our own.
        let message_id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.from.email.domain()
        );
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.as_str())
            .message_id(Some(message_id))
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(body(&mail.text)))
                    .singlepart(SinglePart::html(body(&mail.html))),
            )
            .map_err(|e| MailError::Send(format!("cannot build message: {e}")))
    }
}

/// Whether `address` is a bare e-mail address this mailer can send to.
#[must_use]
pub fn is_valid_address(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

/// Encodes a body part: `7bit` verbatim when allowed, else lettre's choice (see module docs).
fn body(content: &str) -> Body {
    let crlf = content
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let seven_bit = crlf.is_ascii()
        && !crlf.contains('\0')
        && crlf.split("\r\n").all(|line| line.len() <= MAX_LINE_OCTETS);
    if seven_bit {
        // Safe: ASCII without NUL, CRLF line ends only, every line within the limit.
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(content.to_owned())
    }
}

/// `scheme://host:port (TLS mode)`: user name, password, path and query left out.
fn describe_smtp_url(url: &str) -> Result<String, MailError> {
    // Parse errors from `url` describe the problem without echoing the input.
    let parsed =
        url::Url::parse(url).map_err(|e| MailError::Config(format!("invalid SMTP URL: {e}")))?;
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| MailError::Config("SMTP URL has no host".into()))?;
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    // Default ports as lettre applies them: 25 plain, 587 submission, 465 implicit TLS.
    let (default_port, mode) = match (parsed.scheme(), tls.as_deref()) {
        ("smtp", None) => (25, "no TLS"),
        ("smtp", Some("required")) => (587, "STARTTLS"),
        ("smtp", Some("opportunistic")) => (587, "STARTTLS if offered"),
        ("smtps", _) => (465, "implicit TLS"),
        ("smtp", Some(_)) => {
            return Err(MailError::Config(
                "SMTP URL: tls must be required or opportunistic".into(),
            ))
        }
        _ => {
            return Err(MailError::Config(
                "SMTP URL must start with smtp:// or smtps://".into(),
            ))
        }
    };
    if !parsed.username().is_empty() && parsed.password().is_none() {
        // lettre would silently skip authentication.
        return Err(MailError::Config(
            "SMTP URL has a user name but no password".into(),
        ));
    }
    if parsed.password().is_some() && mode == "no TLS" {
        tracing::warn!("SMTP credentials configured without TLS: the password may be sent in clear text; add ?tls=required or use smtps://");
    }
    let port = parsed.port().unwrap_or(default_port);
    Ok(format!("{}://{host}:{port} ({mode})", parsed.scheme()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "passkeyd@example.com";
    const LINK: &str = "https://app.example.com/sign-in?token=verylongtokenvalue0123456789abcdefghijklmnopqrstuvwxyz&a=b";

    fn mail() -> Mail {
        Mail {
            to: "Alice <alice@example.org>".into(),
            subject: "Your sign-in link".into(),
            text: format!("Hello,\n\nsign in here:\n{LINK}\n"),
            html: format!("<p>Hello,</p><p><a href=\"{LINK}\">Sign in</a></p>"),
        }
    }

    fn file_mailer(dir: &tempfile::TempDir) -> (Mailer, PathBuf) {
        let path = dir.path().join("mail.txt");
        let mailer = Mailer::new(MailerConfig::File {
            path: path.clone(),
            from: FROM.into(),
        })
        .unwrap();
        (mailer, path)
    }

    #[test]
    fn mailer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Mailer>();
    }

    #[tokio::test]
    async fn file_mode_appends_whole_messages() {
        let dir = tempfile::tempdir().unwrap();
        let (mailer, path) = file_mailer(&dir);
        assert_eq!(mailer.describe(), format!("file {}", path.display()));

        mailer.send(&mail()).await.unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.contains("Subject: Your sign-in link\r\n"),
            "{written}"
        );
        assert!(
            written.contains("From: passkeyd@example.com\r\n"),
            "{written}"
        );
        assert!(
            written.contains("To: Alice <alice@example.org>\r\n"),
            "{written}"
        );
        assert!(written.contains("multipart/alternative"), "{written}");
        assert!(written.contains("Message-ID: <"), "{written}");
        assert!(
            written.contains("Content-Transfer-Encoding: 7bit"),
            "{written}"
        );
        // Both bodies, the 90-character link verbatim (no quoted-printable folding or =3D).
        assert!(
            written.contains(&format!("sign in here:\r\n{LINK}\r\n")),
            "{written}"
        );
        assert!(
            written.contains(&format!("<a href=\"{LINK}\">Sign in</a>")),
            "{written}"
        );
        assert!(written.ends_with("\r\n----- end of message (passkeyd) -----\r\n"));

        mailer.send(&mail()).await.unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.matches("----- end of message").count(), 2);
        assert_eq!(written.matches("Subject: ").count(), 2);
    }

    #[tokio::test]
    async fn non_ascii_bodies_fall_back_to_a_transfer_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let (mailer, path) = file_mailer(&dir);
        let mut m = mail();
        m.text = "Grüße – hier anmelden".into();
        mailer.send(&m).await.unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.is_ascii(), "{written}");
        assert!(
            written.contains("Content-Transfer-Encoding: quoted-printable")
                || written.contains("Content-Transfer-Encoding: base64"),
            "{written}"
        );
    }

    #[tokio::test]
    async fn invalid_addresses_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (mailer, path) = file_mailer(&dir);
        for to in ["", "not an address", "alice@", "a@b\r\nBcc: x@y.z"] {
            let mut m = mail();
            m.to = to.into();
            let err = mailer.send(&m).await.unwrap_err();
            assert!(matches!(err, MailError::Send(_)), "{to:?}: {err}");
        }
        assert!(!path.exists(), "nothing written for rejected mail");

        for from in ["", "passkeyd", "@example.com"] {
            let err = Mailer::new(MailerConfig::Log { from: from.into() }).unwrap_err();
            assert!(matches!(err, MailError::Config(_)), "{from:?}: {err}");
        }
    }

    #[tokio::test]
    async fn log_mode_sends_nothing_but_checks_the_recipient() {
        let mailer = Mailer::new(MailerConfig::Log { from: FROM.into() }).unwrap();
        assert_eq!(mailer.describe(), "log");
        mailer.send(&mail()).await.unwrap();
        let mut m = mail();
        m.to = "nope".into();
        assert!(mailer.send(&m).await.is_err());
    }

    fn smtp(url: &str) -> Result<Mailer, MailError> {
        Mailer::new(MailerConfig::Smtp {
            url: url.into(),
            from: FROM.into(),
        })
    }

    #[test]
    fn describe_hides_credentials() {
        let config = MailerConfig::Smtp {
            url: "smtp://user:secret@host:2525".into(),
            from: FROM.into(),
        };
        assert!(!format!("{config:?}").contains("secret"));
        let mailer = Mailer::new(config).unwrap();
        assert_eq!(mailer.describe(), "smtp://host:2525 (no TLS)");
        assert!(!format!("{mailer:?}").contains("secret"));

        let cases = [
            (
                "smtp://u:p%40ss@mail.example.com?tls=required",
                "smtp://mail.example.com:587 (STARTTLS)",
            ),
            (
                "smtp://mail.example.com:2587?tls=opportunistic",
                "smtp://mail.example.com:2587 (STARTTLS if offered)",
            ),
            (
                "smtps://u:secret@mail.example.com",
                "smtps://mail.example.com:465 (implicit TLS)",
            ),
            ("smtp://127.0.0.1", "smtp://127.0.0.1:25 (no TLS)"),
        ];
        for (url, expected) in cases {
            assert_eq!(smtp(url).unwrap().describe(), expected, "{url}");
        }
    }

    #[test]
    fn bad_smtp_urls_are_config_errors_without_the_url() {
        for url in [
            "",
            "mail.example.com",
            "http://user:secret@mail.example.com",
            "smtp://user:secret@mail.example.com?tls=maybe",
            "smtp://user@mail.example.com",
            "smtp://",
        ] {
            let err = smtp(url).unwrap_err();
            assert!(matches!(err, MailError::Config(_)), "{url:?}: {err}");
            assert!(!err.to_string().contains("secret"), "{url:?}: {err}");
        }
    }
}
