//! A real SMTP server inside the test process: it accepts every message and records it, so
//! tests see exactly what passkeyd's mailer put on the wire.
//!
//! Speaks the part of RFC 5321 a client such as lettre uses: greeting, EHLO/HELO, MAIL FROM,
//! RCPT TO, DATA (dot-stuffing undone), RSET, NOOP, QUIT; anything else gets 502. It advertises
//! neither STARTTLS nor AUTH, so clients talk plain SMTP to it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Longest command or data line accepted, CRLF included (RFC 5321 section 4.5.3.1).
const MAX_LINE: usize = 1000;

#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// Envelope sender (MAIL FROM), without the angle brackets.
    pub from: String,
    /// Envelope recipients (RCPT TO), in order.
    pub to: Vec<String>,
    /// The message as received after DATA (headers and body, CRLF line ends), dot-stuffing
    /// undone, the terminating `.` line left out.
    pub data: String,
}

pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Inbox>,
    server: JoinHandle<()>,
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
}

impl Inbox {
    fn snapshot(&self) -> Vec<ReceivedMail> {
        self.mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, mail: ReceivedMail) {
        self.mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        self.arrived.notify_waiters();
    }
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on a free port; stops when dropped.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("SMTP sink address").port();
        let inbox = Arc::new(Inbox::default());
        let server = tokio::spawn({
            let inbox = inbox.clone();
            async move {
                let mut sessions = tokio::task::JoinSet::new();
                while let Ok((stream, _)) = listener.accept().await {
                    let (read, write) = stream.into_split();
                    sessions.spawn(session(BufReader::new(read), write, inbox.clone()));
                }
            }
        });
        Self {
            port,
            inbox,
            server,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits until at least `count` messages have arrived and returns all of them, in arrival
    /// order. Panics if they have not arrived within `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before looking, so a mail arriving in between still wakes us.
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let mails = self.inbox.snapshot();
            if mails.len() >= count {
                return mails;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let mails = self.inbox.snapshot();
                panic!(
                    "SMTP sink: expected at least {count} mail(s) within {timeout:?}, got {}: {:#?}",
                    mails.len(),
                    mails
                );
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which aborts the open sessions.
        self.server.abort();
    }
}

/// One SMTP connection. I/O errors (client gone) just end it.
async fn session<R, W>(mut reader: BufReader<R>, mut writer: W, inbox: Arc<Inbox>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let _ = converse(&mut reader, &mut writer, &inbox).await;
}

async fn converse<R, W>(
    reader: &mut BufReader<R>,
    writer: &mut W,
    inbox: &Inbox,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    const NAME: &str = "passkeyd-test-sink";
    reply(writer, &format!("220 {NAME} ESMTP ready")).await?;
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(reader).await? else {
            return Ok(());
        };
        let Some(line) = line.strip_suffix("\r\n") else {
            reply(writer, "500 line too long or not ended by CRLF").await?;
            continue;
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                greeted = true;
                (from, to) = (None, Vec::new());
                let response = format!(
                    "250-{NAME} greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760"
                );
                reply(writer, &response).await?;
            }
            "HELO" => {
                greeted = true;
                (from, to) = (None, Vec::new());
                reply(writer, &format!("250 {NAME}")).await?;
            }
            "MAIL" => match path_arg(arg, "FROM:") {
                _ if !greeted => reply(writer, "503 send EHLO or HELO first").await?,
                _ if from.is_some() => reply(writer, "503 nested MAIL command").await?,
                Some(address) => {
                    from = Some(address);
                    reply(writer, "250 OK").await?;
                }
                None => reply(writer, "501 syntax: MAIL FROM:<address>").await?,
            },
            "RCPT" => match path_arg(arg, "TO:") {
                _ if from.is_none() => reply(writer, "503 need MAIL before RCPT").await?,
                Some(address) if !address.is_empty() => {
                    to.push(address);
                    reply(writer, "250 OK").await?;
                }
                _ => reply(writer, "501 syntax: RCPT TO:<address>").await?,
            },
            "DATA" => {
                if to.is_empty() {
                    reply(writer, "503 need RCPT before DATA").await?;
                    continue;
                }
                reply(writer, "354 end data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(reader).await? else {
                    return Ok(());
                };
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                };
                inbox.push(mail);
                reply(writer, "250 OK: queued").await?;
            }
            "RSET" => {
                (from, to) = (None, Vec::new());
                reply(writer, "250 OK").await?;
            }
            "NOOP" => reply(writer, "250 OK").await?,
            "QUIT" => {
                reply(writer, &format!("221 {NAME} closing connection")).await?;
                return Ok(());
            }
            _ => reply(writer, "502 command not implemented").await?,
        }
    }
}

/// Reads one line including its line end; `None` at end of stream. A line longer than
/// [`MAX_LINE`] comes back cut to that length without its line end (commands then get 500);
/// lettre never sends one.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok((!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned()));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > MAX_LINE {
            too_long = true;
        }
        if !too_long {
            buf.extend_from_slice(&chunk[..take]);
        } else if buf.len() < MAX_LINE - 2 {
            let keep = (MAX_LINE - 2 - buf.len()).min(take);
            buf.extend_from_slice(&chunk[..keep]);
        }
        reader.consume(take);
        if done {
            if too_long {
                while buf.last().is_some_and(|b| *b == b'\r' || *b == b'\n') {
                    buf.pop();
                }
            }
            return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
        }
    }
}

/// Reads the DATA section up to the lone `.` line, undoing dot-stuffing; `None` if the client
/// went away first.
async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> std::io::Result<Option<String>> {
    let mut data = String::new();
    loop {
        let Some(line) = read_line(reader).await? else {
            return Ok(None);
        };
        if line == ".\r\n" {
            return Ok(Some(data));
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// `FROM:<a@b> BODY=8BITMIME` → `a@b`; parameters after the path are ignored.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let path = rest.strip_prefix('<')?;
    let end = path.find('>')?;
    Some(path[..end].to_owned())
}

async fn reply<W: AsyncWrite + Unpin>(writer: &mut W, response: &str) -> std::io::Result<()> {
    writer
        .write_all(format!("{response}\r\n").as_bytes())
        .await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use passkeyd::mail::{Mail, MailError, Mailer, MailerConfig};
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    const WAIT: Duration = Duration::from_secs(10);
    /// Longer than 76 characters and full of `=`: mangled by quoted-printable if it were used.
    const LINK: &str = "https://app.example.com/sign-in?token=0123456789abcdefghijklmnopqrstuvwxyz0123456789==&app=demo";

    fn mailer(sink: &SmtpSink) -> Mailer {
        Mailer::new(MailerConfig::Smtp {
            url: sink.url(),
            from: "passkeyd@example.com".into(),
        })
        .expect("SMTP mailer")
    }

    fn sign_in_mail(to: &str) -> Mail {
        Mail {
            to: to.into(),
            subject: "Sign in to Demo".into(),
            text: format!("Hello,\n\nfollow this link to sign in:\n{LINK}\n\nIt expires soon.\n"),
            html: format!(
                "<html><body><p>Hello,</p>\n<p><a href=\"{LINK}\">Sign in to Demo</a></p>\n</body></html>"
            ),
        }
    }

    fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
        let head = data.split("\r\n\r\n").next()?;
        head.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[tokio::test]
    async fn mailer_delivers_over_smtp() {
        let sink = SmtpSink::start().await;
        let mailer = mailer(&sink);
        assert_eq!(
            mailer.describe(),
            format!("smtp://127.0.0.1:{} (no TLS)", sink.port)
        );

        mailer
            .send(&sign_in_mail("Alice <alice@example.org>"))
            .await
            .expect("send");
        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails.len(), 1);
        let mail = &mails[0];
        assert_eq!(mail.from, "passkeyd@example.com");
        assert_eq!(mail.to, ["alice@example.org"]);
        let data = &mail.data;
        assert_eq!(header(data, "Subject"), Some("Sign in to Demo"), "{data}");
        assert_eq!(header(data, "From"), Some("passkeyd@example.com"), "{data}");
        assert_eq!(
            header(data, "To"),
            Some("Alice <alice@example.org>"),
            "{data}"
        );
        assert!(
            header(data, "Content-Type").is_some_and(|v| v.starts_with("multipart/alternative")),
            "{data}"
        );
        assert!(data.contains("Content-Type: text/plain"), "{data}");
        assert!(data.contains("Content-Type: text/html"), "{data}");
        // The link arrives verbatim in both parts: the bodies are sent as 7bit, not encoded.
        assert!(
            data.contains(&format!("follow this link to sign in:\r\n{LINK}\r\n")),
            "{data}"
        );
        assert!(data.contains(&format!("<a href=\"{LINK}\">")), "{data}");
        assert!(!data.contains("=3D"), "{data}");
    }

    #[tokio::test]
    async fn dot_stuffing_is_undone_and_mails_are_kept_in_order() {
        let sink = SmtpSink::start().await;
        let mailer = mailer(&sink);
        let mut first = sign_in_mail("bob@example.org");
        first.text = "a line\n.starts with a dot\n.\nlast line\n".into();
        mailer.send(&first).await.expect("first");
        mailer
            .send(&sign_in_mail("carol@example.org"))
            .await
            .expect("second");

        let mails = sink.wait_for(2, WAIT).await;
        assert_eq!(mails.len(), 2);
        assert_eq!(mails[0].to, ["bob@example.org"]);
        assert_eq!(mails[1].to, ["carol@example.org"]);
        assert!(
            mails[0]
                .data
                .contains("a line\r\n.starts with a dot\r\n.\r\nlast line\r\n"),
            "{}",
            mails[0].data
        );
    }

    #[tokio::test]
    async fn unreachable_server_is_a_send_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mailer = Mailer::new(MailerConfig::Smtp {
            url: format!("smtp://127.0.0.1:{port}"),
            from: "passkeyd@example.com".into(),
        })
        .unwrap();
        let err = mailer
            .send(&sign_in_mail("alice@example.org"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Send(_)), "{err}");
    }

    /// The sink itself, driven by hand: the dialogue lettre relies on, and its refusals.
    #[tokio::test]
    async fn sink_speaks_smtp() {
        let sink = SmtpSink::start().await;
        let stream = TcpStream::connect(("127.0.0.1", sink.port)).await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);

        async fn response(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
            let mut all = String::new();
            loop {
                let line = read_line(read).await.unwrap().expect("a response line");
                all.push_str(&line);
                if line.as_bytes().get(3) == Some(&b' ') {
                    return all;
                }
            }
        }
        async fn send(
            write: &mut tokio::net::tcp::OwnedWriteHalf,
            read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
            command: &str,
        ) -> String {
            write.write_all(command.as_bytes()).await.unwrap();
            response(read).await
        }

        assert!(response(&mut read).await.starts_with("220 "));
        assert!(send(&mut write, &mut read, "MAIL FROM:<a@b.c>\r\n")
            .await
            .starts_with("503 "));
        let ehlo = send(&mut write, &mut read, "EHLO client.test\r\n").await;
        assert!(ehlo.starts_with("250-"), "{ehlo}");
        assert!(
            !ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
            "{ehlo}"
        );
        assert!(send(&mut write, &mut read, "VRFY root\r\n")
            .await
            .starts_with("502 "));
        assert!(send(&mut write, &mut read, "DATA\r\n")
            .await
            .starts_with("503 "));
        assert!(send(&mut write, &mut read, "NOOP\r\n")
            .await
            .starts_with("250 "));
        assert!(send(&mut write, &mut read, "mail from:<a@b.c> SIZE=10\r\n")
            .await
            .starts_with("250 "));
        assert!(send(&mut write, &mut read, "RSET\r\n")
            .await
            .starts_with("250 "));
        assert!(send(&mut write, &mut read, "RCPT TO:<x@y.z>\r\n")
            .await
            .starts_with("503 "));
        assert!(send(&mut write, &mut read, "MAIL FROM:<>\r\n")
            .await
            .starts_with("250 "));
        assert!(send(&mut write, &mut read, "RCPT TO:<x@y.z>\r\n")
            .await
            .starts_with("250 "));
        assert!(send(&mut write, &mut read, "DATA\r\n")
            .await
            .starts_with("354 "));
        let reply = send(
            &mut write,
            &mut read,
            "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n",
        )
        .await;
        assert!(reply.starts_with("250 "), "{reply}");
        assert!(send(&mut write, &mut read, "QUIT\r\n")
            .await
            .starts_with("221 "));
        let mut rest = Vec::new();
        read.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "connection closed after QUIT");

        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails[0].from, "");
        assert_eq!(mails[0].to, ["x@y.z"]);
        assert_eq!(mails[0].data, "Subject: hi\r\n\r\n.dot\r\nbody\r\n");
    }

    #[tokio::test]
    #[should_panic(expected = "expected at least 1 mail(s)")]
    async fn wait_for_panics_on_timeout() {
        let sink = SmtpSink::start().await;
        sink.wait_for(1, Duration::from_millis(50)).await;
    }
}
