//! Handing a claimed message to the world: over SMTP (`lettre`, rustls),
//! or, with no SMTP host configured, as a standard `.eml` file named by the
//! message id under the outbox directory (a resend overwrites the same
//! file). The log names the file or the recipient, never a body: a body may
//! hold a one-time link.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, SmtpTls};
use crate::db::outbox::ClaimedMail;

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("cannot write the message file: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Where a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Smtp,
    File(PathBuf),
}

/// The configured way of sending mail, built once at start-up.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// The right-hand side of every Message-ID.
    domain: String,
    public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match &self.transport {
            Transport::Smtp(_) => "smtp".to_owned(),
            Transport::Files(dir) => format!("files in {}", dir.display()),
        };
        f.debug_struct("Mailer")
            .field("transport", &how)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// The mailer the configuration describes; a malformed sender or SMTP
    /// host is refused at start-up with one clear line.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mail = &config.mail;
        let from: Mailbox = mail
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid --mail-from {:?}: {e}", mail.mail_from))?;
        let domain = from.email.domain().to_owned();
        let transport = match &mail.smtp_host {
            None => Transport::Files(mail.outbox_dir.clone()),
            Some(host) => {
                let builder = match mail.smtp_tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .map_err(|e| anyhow::anyhow!("invalid --smtp-host: {e}"))?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| anyhow::anyhow!("invalid --smtp-host: {e}"))?,
                };
                let mut builder = builder.port(mail.smtp_port()).timeout(Some(SMTP_TIMEOUT));
                if let Some(user) = &mail.smtp_user {
                    let password = mail
                        .smtp_password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(user.clone(), password));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self {
            transport,
            from,
            domain,
            public_url: config.public_url(),
        })
    }

    /// The Message-ID of message `id`: the same on every attempt.
    pub fn message_id(&self, id: uuid::Uuid) -> String {
        format!("<{id}@{}>", self.domain)
    }

    /// The message as it goes out: both parts, the Message-ID, and
    /// `List-Unsubscribe` unless it is a security message.
    pub fn build(&self, mail: &ClaimedMail, now: i64) -> Result<Message, MailError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(now.max(0).unsigned_abs());
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(self.message_id(mail.id)))
            .date(sent);
        if !mail.security {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}/account/notifications>", self.public_url),
            ));
        }
        Ok(builder.multipart(MultiPart::alternative_plain_html(
            mail.text_body.clone(),
            mail.html_body.clone(),
        ))?)
    }

    /// Sends one message.
    pub async fn deliver(&self, mail: &ClaimedMail, now: i64) -> Result<Delivered, MailError> {
        let message = self.build(mail, now)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                Ok(Delivered::Smtp)
            }
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let file = dir.join(format!("{}.eml", mail.id));
                // Written beside, then renamed: a reader never sees half a
                // message, and a resend replaces the same file.
                let partial = dir.join(format!(".{}.eml.partial", mail.id));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, &file).await?;
                Ok(Delivered::File(file))
            }
        }
    }
}
