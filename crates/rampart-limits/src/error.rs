//! Why a limiter cannot be built.

/// A limiter could not be built from its configuration. The config loader
/// has validated the file already, so these are what only building can tell.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A limit's rate or burst cannot make a GCRA quota.
    #[error("rate limit `{name}`: {reason}")]
    Rule {
        /// The limit's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// `cluster.redis_url` is not a URL the Redis client accepts.
    #[error("cluster.redis_url: {0}")]
    RedisUrl(String),
    /// `cluster.password_env` names a variable that is not set.
    #[error("cluster.password_env: environment variable `{0}` is not set")]
    PasswordEnv(String),
}
