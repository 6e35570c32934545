//! The acceptance run: 1000 simulated legitimate users, one
//! scraper walking profile ids slowly (one request every 4 s, under any
//! per-second rate limit) and one credential stuffer, through the default
//! detector on an injected clock. It prints how many requests each
//! attacker got served before detection and how many legitimate users were
//! ever flagged, and asserts the goals.
//!
//! Legitimate users are modelled on the Peloton-style API: they log in
//! (sometimes mistyping their password), read their profile, list and
//! open their own workouts (ids scattered, as in any shared database),
//! look at a few friends' and popular profiles (private ones come back as
//! restricted views), search, and now and then follow a stale link (404).
//! A fifth of them sit behind ten office NAT addresses, and one in twenty
//! is a heavy user with long sessions.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, UNIX_EPOCH};

use rampart_config::DetectionConfig;
use rampart_detect::{Admission, Detection, DetectionKind, Detector, Observation, Subject};

const USERS: usize = 1000;
/// Profiles in the service (the simulated users are the first 1000).
const PROFILES: u64 = 5000;
const RUN_SECONDS: u64 = 4 * 3600;
const STUFFER_EVERY_SECONDS: u64 = 2;

/// splitmix64: a deterministic generator, so every run is the same run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    User(usize),
    Scraper,
    Stuffer,
}

/// One request: when, who, and what the (simulated) upstream answered.
#[derive(Debug, Clone)]
struct Request {
    at_ms: u64,
    actor: Actor,
    principal: Option<String>,
    ip: IpAddr,
    username: Option<String>,
    operation: &'static str,
    objects: Vec<String>,
    status: u16,
    restricted: bool,
    records: u32,
    bytes: u64,
}

struct User {
    name: String,
    profile: u64,
    ip: IpAddr,
    workouts: Vec<u64>,
    friends: Vec<u64>,
    heavy: bool,
}

fn is_private(profile: u64) -> bool {
    // A fixed 30% of profiles are private.
    profile.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10 < 3
}

fn users(rng: &mut Rng) -> Vec<User> {
    let popular: Vec<u64> = (0..20).map(|_| rng.range(1, PROFILES)).collect();
    (0..USERS)
        .map(|i| {
            let ip = if rng.chance(0.2) {
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10 + rng.below(10) as u8))
            } else {
                IpAddr::V4(Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250) as u8 + 1))
            };
            let mut friends: Vec<u64> = (0..rng.range(3, 10))
                .map(|_| rng.range(1, PROFILES))
                .collect();
            friends.extend((0..3).map(|_| popular[rng.below(20) as usize]));
            User {
                name: format!("user{i}@example.com"),
                profile: i as u64 + 1,
                ip,
                workouts: (0..rng.range(3, 40))
                    .map(|_| rng.range(1, 10_000_000))
                    .collect(),
                friends,
                heavy: rng.chance(0.05),
            }
        })
        .collect()
}

fn legit_traffic(rng: &mut Rng, users: &[User], out: &mut Vec<Request>) {
    for (i, user) in users.iter().enumerate() {
        let sessions = if user.heavy {
            rng.range(3, 6)
        } else {
            rng.range(1, 4)
        };
        for _ in 0..sessions {
            let mut t = rng.below(RUN_SECONDS * 1000);
            let base = |t: u64, op: &'static str, status: u16| Request {
                at_ms: t,
                actor: Actor::User(i),
                principal: Some(user.name.clone()),
                ip: user.ip,
                username: None,
                operation: op,
                objects: Vec::new(),
                status,
                restricted: false,
                records: 0,
                bytes: 0,
            };
            // Log in, with the odd mistyped password.
            let typos = if rng.chance(0.03) {
                1 + u64::from(rng.chance(0.2))
            } else {
                0
            };
            for _ in 0..typos {
                out.push(Request {
                    principal: None,
                    username: Some(user.name.clone()),
                    ..base(t, "login", 401)
                });
                t += rng.range(3_000, 15_000);
            }
            out.push(Request {
                username: Some(user.name.clone()),
                ..base(t, "login", 200)
            });
            let length = if user.heavy {
                rng.range(80, 200)
            } else {
                rng.range(5, 40)
            };
            for _ in 0..length {
                t += if user.heavy {
                    rng.range(1_000, 6_000)
                } else {
                    rng.range(1_000, 20_000)
                };
                let roll = rng.below(100);
                let request = match roll {
                    0..10 => Request {
                        objects: vec![user.profile.to_string()],
                        records: 1,
                        bytes: 900,
                        ..base(t, "getProfile", 200)
                    },
                    10..30 => {
                        let n = rng.range(5, 30) as u32;
                        Request {
                            objects: vec![user.profile.to_string()],
                            records: n,
                            bytes: u64::from(n) * 400,
                            ..base(t, "listWorkouts", 200)
                        }
                    }
                    30..65 => {
                        let w = user.workouts[rng.below(user.workouts.len() as u64) as usize];
                        Request {
                            objects: vec![w.to_string()],
                            records: 1,
                            bytes: 1200,
                            ..base(t, "getWorkout", 200)
                        }
                    }
                    65..90 => {
                        let p = user.friends[rng.below(user.friends.len() as u64) as usize];
                        Request {
                            objects: vec![p.to_string()],
                            restricted: is_private(p),
                            records: 1,
                            bytes: if is_private(p) { 300 } else { 900 },
                            ..base(t, "getProfile", 200)
                        }
                    }
                    90..92 => Request {
                        // A stale link or a typo in an id.
                        objects: vec![rng.range(1, 10_000_000).to_string()],
                        ..base(t, "getWorkout", 404)
                    },
                    92..95 => {
                        let p = rng.range(1, PROFILES);
                        Request {
                            objects: vec![p.to_string()],
                            restricted: is_private(p),
                            records: 1,
                            bytes: 600,
                            ..base(t, "getProfile", 200)
                        }
                    }
                    _ => {
                        let n = rng.range(0, 20) as u32;
                        Request {
                            restricted: n > 0 && rng.chance(0.5),
                            records: n,
                            bytes: u64::from(n) * 300,
                            ..base(t, "searchProfiles", 200)
                        }
                    }
                };
                out.push(request);
            }
        }
    }
}

/// How the scraper walks: its pace, and whether it shuffles the ids to
/// dodge walk detection.
#[derive(Debug, Clone, Copy)]
struct Scraper {
    every_seconds: u64,
    shuffled: bool,
}

fn scraper_traffic(rng: &mut Rng, scraper: Scraper, out: &mut Vec<Request>) {
    let start = 30 * 60 * 1000;
    let mut ids: Vec<u64> = (1..=PROFILES).collect();
    if scraper.shuffled {
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.below(i as u64 + 1) as usize);
        }
    }
    for (n, id) in ids.into_iter().enumerate() {
        let at_ms = start + n as u64 * scraper.every_seconds * 1000;
        if at_ms >= RUN_SECONDS * 1000 {
            break;
        }
        let missing = id % 97 == 0;
        out.push(Request {
            at_ms,
            actor: Actor::Scraper,
            principal: Some("scraper@example.net".to_owned()),
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)),
            username: None,
            operation: "getProfile",
            objects: vec![id.to_string()],
            status: if missing { 404 } else { 200 },
            restricted: !missing && is_private(id),
            records: u32::from(!missing),
            bytes: 700,
        });
    }
}

fn stuffer_traffic(rng: &mut Rng, users: &[User], out: &mut Vec<Request>) {
    let start = 60 * 60 * 1000;
    for n in 0..2000u64 {
        let at_ms = start + n * STUFFER_EVERY_SECONDS * 1000;
        // A leaked list: some names are real users', most are not.
        let username = if rng.chance(0.3) {
            users[rng.below(USERS as u64) as usize].name.clone()
        } else {
            format!("leaked{n}@mail.example")
        };
        let success = rng.chance(0.005);
        out.push(Request {
            at_ms,
            actor: Actor::Stuffer,
            principal: None,
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 66)),
            username: Some(username),
            operation: "login",
            objects: Vec::new(),
            status: if success { 200 } else { 401 },
            restricted: false,
            records: 0,
            bytes: 80,
        });
    }
}

#[derive(Debug, Default)]
struct AttackerReport {
    attempted: u64,
    served: u64,
    served_before_detection: Option<u64>,
    detection: Option<String>,
}

/// What one run measured.
#[derive(Debug)]
struct Outcome {
    legit_requests: u64,
    scraper: AttackerReport,
    stuffer: AttackerReport,
    flagged_users: usize,
    legit_refused: u64,
    false_positives: Vec<Detection>,
}

fn run(seed: u64, scraper_kind: Scraper, config: &DetectionConfig) -> Outcome {
    let mut rng = Rng(seed);
    let users = users(&mut rng);
    let mut traffic = Vec::new();
    legit_traffic(&mut rng, &users, &mut traffic);
    scraper_traffic(&mut rng, scraper_kind, &mut traffic);
    stuffer_traffic(&mut rng, &users, &mut traffic);
    traffic.sort_by_key(|r| r.at_ms);

    let detector = Detector::new(config);
    let origin = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let legit_ips: HashSet<IpAddr> = users.iter().map(|u| u.ip).collect();
    let mut flagged_users: HashSet<usize> = HashSet::new();
    let mut false_positives: Vec<Detection> = Vec::new();
    let (mut scraper, mut stuffer) = (AttackerReport::default(), AttackerReport::default());
    let mut legit_requests = 0u64;
    let mut legit_refused = 0u64;

    for request in &traffic {
        let now = origin + Duration::from_millis(request.at_ms);
        let report = match request.actor {
            Actor::Scraper => Some(&mut scraper),
            Actor::Stuffer => Some(&mut stuffer),
            Actor::User(_) => {
                legit_requests += 1;
                None
            }
        };
        let admission = detector.admit(request.principal.as_deref(), None, Some(request.ip), now);
        if admission != Admission::Allow {
            match report {
                Some(r) => r.attempted += 1,
                None => legit_refused += 1,
            }
            continue;
        }
        let observation = Observation {
            principal: request.principal.as_deref(),
            ip: Some(request.ip),
            username: request.username.as_deref(),
            operation: Some(request.operation),
            objects: &request.objects,
            restricted_view: request.restricted,
            records: request.records,
            bytes: request.bytes,
            ..Observation::new(now, request.status)
        };
        let detections = detector.observe(&observation);
        if let Some(r) = report {
            r.attempted += 1;
            r.served += 1;
        }
        for d in detections {
            let first = |r: &AttackerReport| r.served_before_detection.is_none();
            match (&d.subject, request.actor) {
                (Subject::Principal(_) | Subject::Ip(_), Actor::Scraper) if first(&scraper) => {
                    scraper.served_before_detection = Some(scraper.served);
                    scraper.detection =
                        Some(format!("{} via {}", d.kind.as_str(), d.evidence.metric));
                }
                (Subject::Ip(_), Actor::Stuffer) if first(&stuffer) => {
                    stuffer.served_before_detection = Some(stuffer.served);
                    stuffer.detection =
                        Some(format!("{} via {}", d.kind.as_str(), d.evidence.metric));
                }
                _ => {}
            }
            let legit_subject = match &d.subject {
                Subject::Principal(p) | Subject::Username(p) => {
                    users.iter().position(|u| &u.name == p)
                }
                Subject::Ip(ip) if legit_ips.contains(ip) => users.iter().position(|u| u.ip == *ip),
                _ => None,
            };
            // A real user's name tried by the stuffer is the stuffer's doing
            // (and only throttled, by default).
            let stuffer_on_username = request.actor == Actor::Stuffer
                && matches!(d.subject, Subject::Username(_))
                && d.kind == DetectionKind::CredentialStuffing;
            if let Some(u) = legit_subject
                && !stuffer_on_username
            {
                flagged_users.insert(u);
                false_positives.push(d);
            }
        }
    }
    Outcome {
        legit_requests,
        scraper,
        stuffer,
        flagged_users: flagged_users.len(),
        legit_refused,
        false_positives,
    }
}

fn print(title: &str, o: &Outcome) {
    println!(
        "{title}: {USERS} legitimate users, {} requests, {} h simulated",
        o.legit_requests,
        RUN_SECONDS / 3600
    );
    for (name, r) in [("scraper", &o.scraper), ("credential stuffer", &o.stuffer)] {
        println!(
            "  {name}: {} requests served before detection ({}); {} served of {} attempted in the run",
            r.served_before_detection
                .map_or("all".to_owned(), |n| n.to_string()),
            r.detection.as_deref().unwrap_or("never detected"),
            r.served,
            r.attempted
        );
    }
    println!(
        "  legitimate users ever flagged: {} (their requests refused: {})",
        o.flagged_users, o.legit_refused
    );
    for d in o.false_positives.iter().take(3) {
        println!(
            "    false positive: {} {} {:?}",
            d.subject,
            d.kind.as_str(),
            d.evidence
        );
    }
}

/// The goals, on three different populations.
#[test]
fn a_slow_id_walker_and_a_stuffer_are_caught_and_no_legitimate_user_is_flagged() {
    let config = DetectionConfig::default();
    let scraper = Scraper {
        every_seconds: 4,
        shuffled: false,
    };
    for seed in [0x5EED_2026, 7, 1_234_567] {
        let o = run(seed, scraper, &config);
        print(
            &format!(
                "seed {seed:#x}, scraper walking ids at 1 request / 4 s, stuffer at 1 login / 2 s"
            ),
            &o,
        );
        let scraper_got = o
            .scraper
            .served_before_detection
            .expect("the scraper was detected");
        let stuffer_got = o
            .stuffer
            .served_before_detection
            .expect("the stuffer was detected");
        assert!(
            scraper_got <= 20,
            "the scraper got {scraper_got} profiles first"
        );
        assert!(
            stuffer_got <= 10,
            "the stuffer made {stuffer_got} attempts first"
        );
        assert_eq!(o.flagged_users, 0, "legitimate users flagged");
        assert_eq!(o.legit_refused, 0);
        assert!(
            o.scraper.served * 10 < o.scraper.attempted,
            "the block holds: {} of {} served",
            o.scraper.served,
            o.scraper.attempted
        );
        assert!(
            o.legit_requests > 50_000,
            "a realistic volume: {}",
            o.legit_requests
        );
    }
}

/// Harder scrapers: one request every 30 s, and ids in random order (no
/// walk to see). They take longer, and are still caught.
#[test]
fn slower_and_shuffled_scrapers_are_caught_too() {
    let config = DetectionConfig::default();
    for (scraper, goal) in [
        (
            Scraper {
                every_seconds: 30,
                shuffled: false,
            },
            20,
        ),
        (
            Scraper {
                every_seconds: 4,
                shuffled: true,
            },
            150,
        ),
    ] {
        let o = run(0x5EED_2026, scraper, &config);
        print(
            &format!(
                "scraper every {} s, shuffled: {}",
                scraper.every_seconds, scraper.shuffled
            ),
            &o,
        );
        let got = o
            .scraper
            .served_before_detection
            .expect("the scraper was detected");
        assert!(got <= goal, "the scraper got {got} profiles first");
        assert_eq!(o.flagged_users, 0, "legitimate users flagged");
    }
}

/// How much room the defaults leave: the same traffic with every threshold
/// halved. Printed, not asserted: it shows the margin, not a goal.
#[test]
fn margin_with_halved_thresholds() {
    let mut config = DetectionConfig::default();
    let e = &mut config.enumeration;
    e.distinct_objects /= 2;
    e.sequential_run /= 2;
    e.restricted_views /= 2;
    config.bola_probing.denials_short /= 2;
    config.bola_probing.denials_long /= 2;
    let c = &mut config.credential_stuffing;
    c.failures_per_ip /= 2;
    c.usernames_per_ip /= 2;
    c.failures_per_username /= 2;
    config.exfiltration.records /= 2;
    config.exfiltration.bytes /= 2;
    let o = run(
        0x5EED_2026,
        Scraper {
            every_seconds: 4,
            shuffled: false,
        },
        &config,
    );
    print("every threshold halved", &o);
}
