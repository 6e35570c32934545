//! What guards a sensitive field: the contract's ownership and visibility
//! annotations along the field's path in the operation's successful
//! response schema.
//!
//! The walk follows the compiled shape model (composition already
//! flattened): `*` steps into array items, a name into a property. Along
//! the way an object declaring `x-rampart-owner`/`x-rampart-private` makes
//! the field object-authorized, and a property marked
//! `x-rampart-visibility: owner` makes it owner-only. A name a closed
//! object does not declare is undeclared (enforce mode strips it).

use rampart_contract::operation::StatusKey;
use rampart_contract::{Contract, Operation};

use crate::model::Protection;

/// What guards the field at `pointer` of `op`'s successful JSON responses.
pub(crate) fn protection(contract: &Contract, op: &Operation, pointer: &str) -> Protection {
    let success = op
        .responses
        .iter()
        .filter(|r| match r.status {
            StatusKey::Exact(s) => (200..300).contains(&s),
            StatusKey::Range(d) => d == 2,
            StatusKey::Default => false,
        })
        .chain(
            op.responses
                .iter()
                .filter(|r| r.status == StatusKey::Default),
        );
    let Some(mut shape) = success
        .flat_map(|r| r.content.iter())
        .find_map(|m| if m.json { m.shape } else { None })
    else {
        return Protection::Undeclared;
    };
    let shapes = &contract.shapes;
    let mut owned = false;
    let mut owner_only = false;
    for token in pointer.split('/').skip(1) {
        let flat = shapes.flat(shape);
        owned |= flat.ownership.is_annotated();
        let next = if token == "*" {
            flat.items
        } else {
            let name = token.replace("~1", "/").replace("~0", "~");
            match flat.props.get(&name) {
                Some(prop) => {
                    owner_only |= prop.owner_only;
                    Some(prop.shape)
                }
                None if flat.closed => return Protection::Undeclared,
                None => flat.additional,
            }
        };
        match next {
            Some(s) => shape = s,
            // An open value: served as the upstream sent it.
            None => break,
        }
    }
    if owner_only {
        Protection::OwnerOnly
    } else if owned {
        Protection::OwnedObject
    } else {
        Protection::None
    }
}
