//! The words of a credentials failure, shared by AWS access (which writes them into its
//! errors) and the output layer (which tells each whole message once and shortens the rest).

/// The words of a credentials failure: `head`, a detail (the error code AWS sent, or none),
/// `advice`. Every AWS call of a run meets the same one (a run has one credential chain), so
/// the output layer tells the whole once and shortens each other mention to `short` and the
/// detail (qfleet's `output::once`); AWS access writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialsWords {
    pub head: &'static str,
    pub advice: &'static str,
    pub short: &'static str,
}

impl CredentialsWords {
    /// `WHAT: HEAD DETAIL. ADVICE`: the error's message (without `WHAT: ` when `what` is
    /// empty: the run's own first look at the credentials).
    pub fn message(&self, what: &str, detail: &str) -> String {
        match what {
            "" => format!("{}{detail}{}", self.head, self.advice),
            _ => format!("{what}: {}{detail}{}", self.head, self.advice),
        }
    }
}

pub const MISSING_CREDENTIALS: CredentialsWords = CredentialsWords {
    head: "no AWS credentials found",
    advice: ". Set AWS_PROFILE (or pass --profile), run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    short: "no credentials",
};

pub const EXPIRED_CREDENTIALS: CredentialsWords = CredentialsWords {
    head: "your AWS credentials have expired",
    advice: ". Refresh them (e.g. `aws sso login`) and run the command again",
    short: "credentials expired",
};

pub const REJECTED_CREDENTIALS: CredentialsWords = CredentialsWords {
    head: "AWS rejected the credentials",
    advice: ". Check AWS_PROFILE / --profile and the access keys",
    short: "credentials rejected",
};

/// A source of the credential chain that is set up and failed (the detail names it and its
/// own words, AWS access's `credentials`).
pub const SOURCE_FAILED: CredentialsWords = CredentialsWords {
    head: "AWS credentials could not be loaded from ",
    advice: ". Fix that source, or choose another (AWS_PROFILE, --profile)",
    short: "credentials not loaded",
};

/// Every credentials failure's words.
pub const CREDENTIALS_WORDS: [CredentialsWords; 4] = [
    MISSING_CREDENTIALS,
    EXPIRED_CREDENTIALS,
    REJECTED_CREDENTIALS,
    SOURCE_FAILED,
];
