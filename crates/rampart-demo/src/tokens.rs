//! The demo's identities: three riders with bearer tokens, signed with a
//! secret made for each run, so the tour can show what a member, an owner and
//! an administrator each get. Nothing here is fixed in the repository: a
//! token minted by one demo is refused by every other.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The issuer and audience the demo config trusts.
pub const ISSUER: &str = "rampart-demo";
/// The audience of the demo's tokens.
pub const AUDIENCE: &str = "riders";
/// The `kid` of the demo's signing key.
pub const KID: &str = "demo";

/// One of the tour's callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Rider 4 (priya_patel), a member with a public profile.
    Member,
    /// Rider 2 (jordan_lee), whose profile is private.
    Owner,
    /// Rider 1 (alex_morgan), an administrator.
    Admin,
}

impl Persona {
    /// Every persona, in the order the tour introduces them.
    pub const ALL: [Persona; 3] = [Persona::Member, Persona::Owner, Persona::Admin];

    /// The shell variable the printed commands use for this persona's token.
    pub fn var(self) -> &'static str {
        match self {
            Persona::Member => "MEMBER",
            Persona::Owner => "OWNER",
            Persona::Admin => "ADMIN",
        }
    }

    /// The rider id (the token's `sub`).
    pub fn rider(self) -> u64 {
        match self {
            Persona::Member => 4,
            Persona::Owner => 2,
            Persona::Admin => 1,
        }
    }

    /// The `role` claim.
    pub fn role(self) -> &'static str {
        match self {
            Persona::Admin => "admin",
            _ => "member",
        }
    }

    /// Who this is, for the printed tour.
    pub fn describe(self) -> &'static str {
        match self {
            Persona::Member => "rider 4, priya_patel, a member",
            Persona::Owner => "rider 2, jordan_lee, whose profile is private",
            Persona::Admin => "rider 1, alex_morgan, an administrator",
        }
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    role: &'a str,
    iat: u64,
    exp: u64,
}

/// A fresh random HS256 secret (32 random bytes, hex-encoded).
pub fn new_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "no randomness available".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A token for `persona`, valid for 24 hours, signed with `secret`.
pub fn mint(persona: Persona, secret: &str) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.to_string());
    let claims = Claims {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: persona.rider().to_string(),
        role: persona.role(),
        iat: now,
        exp: now + 24 * 3600,
    };
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| e.to_string())
}

/// The three tokens of a run.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// (persona, token), in [`Persona::ALL`] order.
    pub tokens: Vec<(Persona, String)>,
}

impl Tokens {
    /// Mint one token per persona.
    pub fn mint_all(secret: &str) -> Result<Tokens, String> {
        Ok(Tokens {
            tokens: Persona::ALL
                .iter()
                .map(|p| Ok((*p, mint(*p, secret)?)))
                .collect::<Result<_, String>>()?,
        })
    }

    /// The token of a persona.
    pub fn get(&self, persona: Persona) -> &str {
        self.tokens
            .iter()
            .find(|(p, _)| *p == persona)
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }
}
