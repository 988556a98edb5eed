//! Passkeys (WebAuthn) with `webauthn-rs`: the relying party, and the three
//! ceremonies the console runs — registering a passkey, asserting one of a
//! known user's passkeys (the MFA step, sudo), and discovering whose passkey
//! it is (passwordless sign-in).
//!
//! Invariants:
//! - The relying party id is the host of the configured public URL and the
//!   only accepted origin is that URL: a response made for another site (a
//!   phishing page) or for another RP id fails here.
//! - A ceremony's state (its challenge) lives in the server-side session
//!   only, one per purpose, for at most `CEREMONY_TTL` seconds, and is
//!   *taken* when a response is checked: a response cannot be checked twice,
//!   so a replayed one meets no ceremony.
//! - A counter that does not grow (a cloned authenticator) is refused as
//!   `PasskeyError::Compromised`; the caller audits it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, Credential, DiscoverableAuthentication,
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::AppSession;
use super::session::SessionError;

/// How long a started ceremony may be answered.
pub const CEREMONY_TTL: i64 = 5 * 60;

/// The relying party: Gatehouse as WebAuthn sees it.
pub struct RelyingParty {
    webauthn: Webauthn,
}

/// Why a ceremony could not be started or its state kept: a configuration
/// or session fault, an internal error for the caller.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    #[error("webauthn")]
    Webauthn(#[from] WebauthnError),
    #[error("session")]
    Session(#[from] SessionError),
    #[error("ceremony state")]
    Json(#[from] serde_json::Error),
}

/// Why a passkey response was refused. Each is shown to the person as a
/// message; none changes anything.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// No ceremony of this kind is open (it expired, was already answered,
    /// or never started): a replayed response ends here.
    #[error("no ceremony")]
    NoCeremony,
    /// The form carried no response, or one that is not WebAuthn JSON.
    #[error("no response")]
    NoResponse,
    /// The credential is not one of the expected user's passkeys.
    #[error("unknown credential")]
    UnknownCredential,
    /// The counter did not grow: the authenticator may have been cloned.
    #[error("counter regression")]
    Compromised,
    /// Any other check failed: origin, RP id, challenge, signature, flags.
    #[error("refused: {0}")]
    Refused(WebauthnError),
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
}

impl From<SessionError> for PasskeyError {
    fn from(e: SessionError) -> Self {
        PasskeyError::Ceremony(e.into())
    }
}

/// What a ceremony is for: each has its own session key, so that the
/// sign-in page in one tab does not end the sudo prompt in another.
#[derive(Clone, Copy)]
enum Purpose {
    Register,
    Assert,
    Discover,
}

impl Purpose {
    fn key(self) -> &'static str {
        match self {
            Purpose::Register => "passkey.register",
            Purpose::Assert => "passkey.assert",
            Purpose::Discover => "passkey.discover",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Open<T> {
    /// Whose ceremony it is (none for discovery: the passkey says).
    user_id: Option<Uuid>,
    started_at: i64,
    state: T,
}

/// A passkey as storage holds it: the credential JSON and what the list
/// shows.
#[derive(Debug, Clone)]
pub struct ToStore {
    pub credential_id: String,
    pub credential: String,
    pub backed_up: bool,
}

impl RelyingParty {
    /// The relying party of `public_url`: its host is the RP id, the URL
    /// (scheme, host and port) the one allowed origin.
    pub fn new(public_url: &str) -> Result<Self, WebauthnError> {
        let origin = Url::parse(public_url).map_err(|_| WebauthnError::Configuration)?;
        let rp_id = origin
            .host_str()
            .ok_or(WebauthnError::Configuration)?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)?
            .rp_name("Gatehouse")
            .build()?;
        Ok(Self { webauthn })
    }

    /// Starts registering a passkey for `user_id`; `existing` are the ids of
    /// their passkeys, which the authenticator is asked not to make again.
    /// The options (JSON) go to the page's script.
    pub async fn start_registration(
        &self,
        session: &AppSession,
        user_id: Uuid,
        email: &str,
        display_name: &str,
        existing: &[Passkey],
        now: i64,
    ) -> Result<String, CeremonyError> {
        let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
        let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = self
            .webauthn
            .start_passkey_registration(user_id, email, display_name, Some(exclude))?;
        // A discoverable credential, so that the same passkey also signs in
        // without a password.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        open(session, Purpose::Register, Some(user_id), state, now).await?;
        Ok(serde_json::to_string(&options)?)
    }

    /// Checks a registration response for `user_id`.
    pub async fn finish_registration(
        &self,
        session: &AppSession,
        user_id: Uuid,
        response: &str,
        now: i64,
    ) -> Result<Passkey, PasskeyError> {
        let state: PasskeyRegistration =
            take(session, Purpose::Register, Some(user_id), now).await?;
        let response: RegisterPublicKeyCredential =
            serde_json::from_str(response).map_err(|_| PasskeyError::NoResponse)?;
        self.webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(PasskeyError::Refused)
    }

    /// Starts asking `user_id` for one of `passkeys` (the MFA step, sudo).
    pub async fn start_assertion(
        &self,
        session: &AppSession,
        user_id: Uuid,
        passkeys: &[Passkey],
        now: i64,
    ) -> Result<String, CeremonyError> {
        let (options, state): (RequestChallengeResponse, PasskeyAuthentication) =
            self.webauthn.start_passkey_authentication(passkeys)?;
        open(session, Purpose::Assert, Some(user_id), state, now).await?;
        Ok(serde_json::to_string(&options)?)
    }

    /// Checks an assertion for `user_id` against the ceremony they started.
    pub async fn finish_assertion(
        &self,
        session: &AppSession,
        user_id: Uuid,
        response: &PublicKeyCredential,
        now: i64,
    ) -> Result<AuthenticationResult, PasskeyError> {
        let state: PasskeyAuthentication =
            take(session, Purpose::Assert, Some(user_id), now).await?;
        self.webauthn
            .finish_passkey_authentication(response, &state)
            .map_err(refusal)
    }

    /// Starts a passwordless sign-in: any discoverable passkey of this site.
    pub async fn start_discovery(
        &self,
        session: &AppSession,
        now: i64,
    ) -> Result<String, CeremonyError> {
        let (mut options, state): (RequestChallengeResponse, DiscoverableAuthentication) =
            self.webauthn.start_discoverable_authentication()?;
        // A button press, not the autofill prompt: the page asks when the
        // person chooses "Sign in with a passkey".
        options.mediation = None;
        open(session, Purpose::Discover, None, state, now).await?;
        Ok(serde_json::to_string(&options)?)
    }

    /// Whose passkey a discovery response claims to be: the user handle
    /// (a user id) and the credential id. Nothing is verified yet.
    pub fn identify(&self, response: &PublicKeyCredential) -> Result<Uuid, PasskeyError> {
        self.webauthn
            .identify_discoverable_authentication(response)
            .map(|(user, _)| user)
            .map_err(|_| PasskeyError::UnknownCredential)
    }

    /// Checks a discovery response against `passkey`, the stored credential
    /// its id names.
    pub async fn finish_discovery(
        &self,
        session: &AppSession,
        response: &PublicKeyCredential,
        passkey: &Passkey,
        now: i64,
    ) -> Result<AuthenticationResult, PasskeyError> {
        let state: DiscoverableAuthentication = take(session, Purpose::Discover, None, now).await?;
        let credential = Credential::from(passkey.clone());
        self.webauthn
            .finish_discoverable_authentication_v2(response, state, &credential)
            .map_err(refusal)
    }
}

fn refusal(e: WebauthnError) -> PasskeyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => PasskeyError::Compromised,
        other => PasskeyError::Refused(other),
    }
}

async fn open<T: Serialize>(
    session: &AppSession,
    purpose: Purpose,
    user_id: Option<Uuid>,
    state: T,
    now: i64,
) -> Result<(), CeremonyError> {
    let open = Open {
        user_id,
        started_at: now,
        state,
    };
    session.put(purpose.key(), &open).await?;
    Ok(())
}

/// Takes the open ceremony of `purpose` out of the session (it is gone
/// whatever the outcome), if it is `user_id`'s and still fresh.
async fn take<T: for<'de> Deserialize<'de>>(
    session: &AppSession,
    purpose: Purpose,
    user_id: Option<Uuid>,
    now: i64,
) -> Result<T, PasskeyError> {
    let open: Option<Open<T>> = session.get(purpose.key()).await.ok().flatten();
    session.remove(purpose.key()).await?;
    match open {
        Some(o) if o.user_id == user_id && now - o.started_at <= CEREMONY_TTL => Ok(o.state),
        _ => Err(PasskeyError::NoCeremony),
    }
}

/// The response a form carried (`credential`), as WebAuthn JSON.
pub fn parse_assertion(response: &str) -> Result<PublicKeyCredential, PasskeyError> {
    if response.trim().is_empty() {
        return Err(PasskeyError::NoResponse);
    }
    serde_json::from_str(response).map_err(|_| PasskeyError::NoResponse)
}

/// A credential id as storage keys it: unpadded base64url.
pub fn credential_id(raw: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The id of the credential a response names, as storage keys it.
pub fn response_credential_id(response: &PublicKeyCredential) -> String {
    credential_id(response.get_credential_id())
}

/// A registered passkey as storage holds it.
pub fn to_stored(passkey: &Passkey) -> Result<ToStore, serde_json::Error> {
    let backed_up = Credential::from(passkey.clone()).backup_state;
    Ok(ToStore {
        credential_id: credential_id(passkey.cred_id().as_ref()),
        credential: serde_json::to_string(passkey)?,
        backed_up,
    })
}

/// A stored passkey back as webauthn-rs reads it.
pub fn from_stored(credential: &str) -> Result<Passkey, serde_json::Error> {
    serde_json::from_str(credential)
}
