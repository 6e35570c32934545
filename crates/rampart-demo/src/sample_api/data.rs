//! The sample API's seeded, in-memory data: twelve riders and their workouts.
//!
//! Everything is derived from a fixed table and a fixed-seed generator, so
//! every run of the demo (and every test) sees the same riders, the same fake
//! password hashes and the same workouts. Emails use `example.*` domains and
//! IPs the RFC 5737 documentation ranges: nothing here is real.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One rider's stored record: a JSON object, so that mass assignment can
/// write any key into it, exactly like a careless ORM merge.
pub(crate) type Rider = Map<String, Value>;

/// The riders and their workouts, keyed by the rider's original id (a PATCH
/// may change the record's `id` field, never the key it is stored under).
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) riders: BTreeMap<u64, Rider>,
    pub(crate) workouts: BTreeMap<u64, Vec<Value>>,
}

struct Seed {
    username: &'static str,
    display_name: &'static str,
    is_private: bool,
    age: u32,
    gender: &'static str,
    city: &'static str,
    weight_kg: f64,
    created_at: &'static str,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per rider keeps the table below readable"
)]
const fn seed(
    username: &'static str,
    display_name: &'static str,
    is_private: bool,
    age: u32,
    gender: &'static str,
    city: &'static str,
    weight_kg: f64,
    created_at: &'static str,
) -> Seed {
    Seed {
        username,
        display_name,
        is_private,
        age,
        gender,
        city,
        weight_kg,
        created_at,
    }
}

/// Rider `n` has id `n + 1`; rider 1 is the administrator.
#[rustfmt::skip]
const SEEDS: [Seed; 12] = [
    seed("alex_morgan", "Alex Morgan", false, 41, "female", "Boston, MA", 63.5, "2018-02-11T09:14:00Z"),
    seed("jordan_lee", "Jordan Lee", true, 34, "male", "Seattle, WA", 81.2, "2019-06-03T18:40:00Z"),
    seed("sam_rivera", "Sam Rivera", true, 29, "non-binary", "Austin, TX", 70.8, "2020-03-22T07:05:00Z"),
    seed("priya_patel", "Priya Patel", false, 38, "female", "London, UK", 58.9, "2020-04-17T21:30:00Z"),
    seed("noah_kim", "Noah Kim", true, 52, "male", "Toronto, ON", 88.4, "2020-11-29T06:55:00Z"),
    seed("emma_schmidt", "Emma Schmidt", false, 26, "female", "Berlin, DE", 61.0, "2021-01-08T12:10:00Z"),
    seed("lucas_martin", "Lucas Martin", true, 45, "male", "Lyon, FR", 77.6, "2021-01-19T19:25:00Z"),
    seed("aisha_bello", "Aisha Bello", true, 31, "female", "Lagos, NG", 66.3, "2021-02-02T05:45:00Z"),
    seed("mateo_garcia", "Mateo Garcia", false, 23, "male", "Madrid, ES", 74.1, "2021-02-14T16:00:00Z"),
    seed("hana_sato", "Hana Sato", false, 36, "female", "Osaka, JP", 54.7, "2021-03-03T22:35:00Z"),
    seed("oliver_brown", "Oliver Brown", true, 67, "male", "Leeds, UK", 92.0, "2021-03-27T08:20:00Z"),
    seed("chloe_dubois", "Chloe Dubois", false, 19, "female", "Montreal, QC", 57.2, "2021-04-05T17:50:00Z"),
];

const WORKOUT_KINDS: [&str; 5] = ["cycling", "running", "rowing", "strength", "yoga"];

/// A tiny deterministic generator (xorshift64*): the data must be the same on
/// every run, and pulling in `rand` for twelve riders is not worth it.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // Never zero: xorshift would stay at zero forever.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl Store {
    /// The seeded data set.
    pub(crate) fn seeded() -> Self {
        let mut riders = BTreeMap::new();
        let mut workouts = BTreeMap::new();
        for (id, seed) in (1u64..).zip(SEEDS.iter()) {
            let mut rng = Rng::new(id);
            let rider_workouts = seed_workouts(id, &mut rng);
            riders.insert(id, seed_rider(id, seed, rider_workouts.len(), &mut rng));
            workouts.insert(id, rider_workouts);
        }
        Store { riders, workouts }
    }
}

fn seed_rider(id: u64, seed: &Seed, workout_count: usize, rng: &mut Rng) -> Rider {
    let role = if id == 1 { "admin" } else { "member" };
    let email = format!("{}@example.com", seed.username.replace('_', "."));
    let value = json!({
        "id": id,
        "username": seed.username,
        "display_name": seed.display_name,
        "is_private": seed.is_private,
        "role": role,
        "age": seed.age,
        "gender": seed.gender,
        "city": seed.city,
        "weight_kg": seed.weight_kg,
        "email": email,
        "workout_count": workout_count,
        "created_at": seed.created_at,
        // Undeclared in the spec: the "excessive data exposure" the gateway strips.
        "password_hash": fake_bcrypt(rng),
        "last_login_ip": fake_ip(id, rng),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A string shaped like a bcrypt hash (`$2b$12$` + 53 characters of its
/// alphabet). It hashes nothing: it only has to look alarming in a response.
fn fake_bcrypt(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut hash = String::from("$2b$12$");
    for _ in 0..53 {
        let index = rng.below(ALPHABET.len() as u64) as usize;
        hash.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'.')));
    }
    hash
}

/// An address from the RFC 5737 documentation ranges.
fn fake_ip(id: u64, rng: &mut Rng) -> String {
    let prefix = if id.is_multiple_of(2) {
        "203.0.113"
    } else {
        "198.51.100"
    };
    format!("{prefix}.{}", 2 + rng.below(250))
}

fn seed_workouts(rider_id: u64, rng: &mut Rng) -> Vec<Value> {
    let count = 3 + rng.below(6);
    (0..count)
        .map(|n| {
            // Mostly cycling, as on the real platform.
            let kind = if rng.below(2) == 0 {
                "cycling"
            } else {
                WORKOUT_KINDS[rng.below(WORKOUT_KINDS.len() as u64) as usize]
            };
            let duration_min = 15 + 5 * rng.below(10);
            let output_kj = duration_min * (6 + rng.below(9));
            json!({
                "id": rider_id * 100 + n + 1,
                "rider_id": rider_id,
                "kind": kind,
                "started_at": format!(
                    "2021-04-{:02}T{:02}:{:02}:00Z",
                    1 + n * 3 + rng.below(3),
                    5 + rng.below(17),
                    5 * rng.below(12)
                ),
                "duration_min": duration_min,
                "output_kj": output_kj,
                "calories": output_kj * 11 / 10,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic() {
        let (a, b) = (Store::seeded(), Store::seeded());
        assert_eq!(a.riders, b.riders);
        assert_eq!(a.workouts, b.workouts);
    }

    #[test]
    fn twelve_riders_one_admin_some_private() {
        let store = Store::seeded();
        assert_eq!(store.riders.len(), 12);
        let admins: Vec<_> = store
            .riders
            .values()
            .filter(|r| r["role"] == "admin")
            .collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0]["id"], 1);
        let private = store
            .riders
            .values()
            .filter(|r| r["is_private"] == true)
            .count();
        assert!((3..=9).contains(&private), "{private}");
    }

    #[test]
    fn workout_count_matches_workouts() {
        let store = Store::seeded();
        for (id, rider) in &store.riders {
            assert_eq!(rider["workout_count"], store.workouts[id].len());
            let hash = rider["password_hash"].as_str().unwrap();
            assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
        }
    }
}
