//! Email: the messages Gatehouse sends, rendered from askama templates
//! (`templates/mail/`, a plain-text and an HTML part each), and the
//! transport that sends them (`transport`).
//!
//! Nothing here sends at once: a handler renders a `NewMail` and hands it to
//! the storage function of the change that causes it, which queues it in the
//! same transaction (`db::outbox`); the worker of `jobs::outbox` sends it.
//! Security messages (password reset, account set-up, email verification,
//! security notices) cannot be turned off and carry no `List-Unsubscribe`;
//! everything else does.

pub mod transport;

pub use transport::{Delivered, MailError, Mailer};

use askama::Template;

use crate::db::outbox::NewMail;
use crate::db::recovery::{LINK_TOKEN_LEN, SETUP_TTL_SECS};

/// Renders a message whose text and HTML parts share their fields: `$data`
/// is moved into both template structs in turn.
macro_rules! both_parts {
    ($text:ident, $html:ident, $fields:tt) => {{
        let text = $text $fields.render()?;
        let html = $html $fields.render()?;
        (text, html)
    }};
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct PasswordResetText<'a> {
    name: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct PasswordResetHtml<'a> {
    name: &'a str,
    link: &'a str,
    minutes: i64,
}

/// The forgot-password link (a security message).
pub fn password_reset(
    to: &str,
    name: &str,
    link: &str,
    minutes: i64,
) -> Result<NewMail, askama::Error> {
    let (text, html) = both_parts!(PasswordResetText, PasswordResetHtml, {
        name,
        link,
        minutes
    });
    Ok(NewMail {
        kind: "password_reset",
        recipient: to.to_owned(),
        subject: "Reset your Gatehouse password".to_owned(),
        text,
        html,
        security: true,
        on_behalf_of: None,
    })
}

#[derive(Template)]
#[template(path = "mail/account_setup.txt")]
struct AccountSetupText<'a> {
    name: &'a str,
    org: Option<&'a str>,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "mail/account_setup.html")]
struct AccountSetupHtml<'a> {
    name: &'a str,
    org: Option<&'a str>,
    link: &'a str,
    days: i64,
}

/// A new account set-up link for `to`: its secret (to be hashed and stored
/// with `db::recovery::Purpose::AccountSetup`) and the message that carries
/// it.
pub fn new_setup_link(
    public_url: &str,
    to: &str,
    name: &str,
    org: Option<&str>,
) -> Result<(String, NewMail), askama::Error> {
    let token = crate::auth::api_key::random_base62(LINK_TOKEN_LEN);
    let link = format!("{public_url}/password/setup/{token}");
    let message = account_setup(to, name, org, &link, SETUP_TTL_SECS / (24 * 3600))?;
    Ok((token, message))
}

/// The set-your-password link of an account someone else created: SCIM
/// provisioning for `org`, or an operator (`org` is `None`). A security
/// message: it carries a credential.
pub fn account_setup(
    to: &str,
    name: &str,
    org: Option<&str>,
    link: &str,
    days: i64,
) -> Result<NewMail, askama::Error> {
    let (text, html) = both_parts!(AccountSetupText, AccountSetupHtml, {
        name,
        org,
        link,
        days
    });
    let subject = match org {
        Some(org) => format!("You have a Gatehouse account at {org} — set your password"),
        None => "You have a Gatehouse account — set your password".to_owned(),
    };
    Ok(NewMail {
        kind: "account_setup",
        recipient: to.to_owned(),
        subject,
        text,
        html,
        security: true,
        on_behalf_of: None,
    })
}

#[derive(Template)]
#[template(path = "mail/email_verification.txt")]
struct VerificationText<'a> {
    name: &'a str,
    email: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "mail/email_verification.html")]
struct VerificationHtml<'a> {
    name: &'a str,
    email: &'a str,
    link: &'a str,
    hours: i64,
}

/// The link that proves control of an address (a security message).
pub fn email_verification(
    to: &str,
    name: &str,
    link: &str,
    hours: i64,
) -> Result<NewMail, askama::Error> {
    let email = to;
    let (text, html) = both_parts!(VerificationText, VerificationHtml, {
        name,
        email,
        link,
        hours
    });
    Ok(NewMail {
        kind: "email_verification",
        recipient: to.to_owned(),
        subject: "Confirm your email address for Gatehouse".to_owned(),
        text,
        html,
        security: true,
        on_behalf_of: None,
    })
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    inviter: &'a str,
    org: &'a str,
    role: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    inviter: &'a str,
    org: &'a str,
    role: &'a str,
    link: &'a str,
    days: i64,
}

/// An invitation to an org, with its link (not a security message);
/// `inviter_id` is `None` when the platform invited (a master key).
pub fn invitation(
    to: &str,
    inviter_id: Option<uuid::Uuid>,
    inviter: &str,
    org: &str,
    role: &str,
    link: &str,
    days: i64,
) -> Result<NewMail, askama::Error> {
    let (text, html) = both_parts!(InvitationText, InvitationHtml, {
        inviter,
        org,
        role,
        link,
        days
    });
    Ok(NewMail {
        kind: "invitation",
        recipient: to.to_owned(),
        subject: format!("{inviter} invited you to {org} on Gatehouse"),
        text,
        html,
        security: false,
        on_behalf_of: inviter_id,
    })
}

#[derive(Template)]
#[template(path = "mail/security_notice.txt")]
struct NoticeText<'a> {
    security: bool,
    name: &'a str,
    what: &'a str,
    when: &'a str,
    forgot_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/security_notice.html")]
struct NoticeHtml<'a> {
    security: bool,
    name: &'a str,
    what: &'a str,
    when: &'a str,
    forgot_link: &'a str,
}

/// A notice that something changed the security of an account (always
/// sent; the preferences page cannot turn it off).
pub fn security_notice(
    to: &str,
    name: &str,
    subject: &str,
    what: &str,
    when: &str,
    public_url: &str,
) -> Result<NewMail, askama::Error> {
    notice(to, name, subject, what, when, public_url, true)
}

/// A notice about the account that the person may turn off on the
/// preferences page (API key events): it carries `List-Unsubscribe`.
pub fn account_notice(
    to: &str,
    name: &str,
    subject: &str,
    what: &str,
    when: &str,
    public_url: &str,
) -> Result<NewMail, askama::Error> {
    notice(to, name, subject, what, when, public_url, false)
}

fn notice(
    to: &str,
    name: &str,
    subject: &str,
    what: &str,
    when: &str,
    public_url: &str,
    security: bool,
) -> Result<NewMail, askama::Error> {
    let forgot_link = format!("{public_url}/password/forgot");
    let forgot_link = forgot_link.as_str();
    let (text, html) = both_parts!(NoticeText, NoticeHtml, {
        security,
        name,
        what,
        when,
        forgot_link
    });
    Ok(NewMail {
        kind: if security {
            "security_notice"
        } else {
            "account_notice"
        },
        recipient: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
        security,
        on_behalf_of: None,
    })
}

#[derive(Template)]
#[template(path = "mail/email_change.txt")]
struct EmailChangeText<'a> {
    name: &'a str,
    old_email: &'a str,
    new_email: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "mail/email_change.html")]
struct EmailChangeHtml<'a> {
    name: &'a str,
    old_email: &'a str,
    new_email: &'a str,
    link: &'a str,
    hours: i64,
}

/// The link, sent to the new address, that confirms an email change (a
/// security message).
pub fn email_change(
    old_email: &str,
    new_email: &str,
    name: &str,
    link: &str,
    hours: i64,
) -> Result<NewMail, askama::Error> {
    let (text, html) = both_parts!(EmailChangeText, EmailChangeHtml, {
        name,
        old_email,
        new_email,
        link,
        hours
    });
    Ok(NewMail {
        kind: "email_change",
        recipient: new_email.to_owned(),
        subject: "Confirm your new email address for Gatehouse".to_owned(),
        text,
        html,
        security: true,
        on_behalf_of: None,
    })
}

#[derive(Template)]
#[template(path = "mail/email_changed.txt")]
struct EmailChangedText<'a> {
    name: &'a str,
    old_email: &'a str,
    new_email: &'a str,
    when: &'a str,
    public_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/email_changed.html")]
struct EmailChangedHtml<'a> {
    name: &'a str,
    old_email: &'a str,
    new_email: &'a str,
    when: &'a str,
    public_url: &'a str,
}

/// The notice, sent to the old address, that an email change was applied
/// (a security message). Its guidance is not "reset your password": the old
/// address no longer reaches the account.
pub fn email_changed(
    old_email: &str,
    new_email: &str,
    name: &str,
    when: &str,
    public_url: &str,
) -> Result<NewMail, askama::Error> {
    let (text, html) = both_parts!(EmailChangedText, EmailChangedHtml, {
        name,
        old_email,
        new_email,
        when,
        public_url
    });
    Ok(NewMail {
        kind: "security_notice",
        recipient: old_email.to_owned(),
        subject: "Your Gatehouse email address was changed".to_owned(),
        text,
        html,
        security: true,
        on_behalf_of: None,
    })
}
