//! `rampart disclosures ...` (placeholder replaced below).
