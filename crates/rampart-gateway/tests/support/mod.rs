//! The end-to-end harness: a real upstream that records every request it
//! receives, the real gateway in-process, both on ephemeral loopback ports,
//! and clients that speak HTTP/1.1, h2c, TLS, or raw bytes.
//!
//! Every test builds its own upstream and gateway, so tests are independent
//! and run in parallel. Nothing sleeps: [`Gateway::finish`] shuts the server
//! down and awaits it, after which every security event is on disk.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(unused_imports, reason = "each test binary uses a different subset")]

mod answer;
mod gateway;
pub mod h2raw;
pub mod identity;
mod modes;
pub mod raw;
mod tls;
mod upstream;

pub use answer::{Answer, SecurityLog, send};
pub use gateway::{Gateway, GatewayBuilder, client, h2c_client};
pub use modes::{BothModes, ModePair, enforced_and_monitored};
pub use tls::{get_over, tls_connect};
pub use upstream::{ClosedPort, Reply, Script, Seen, Upstream, riders_reply};

/// A compact OpenAPI 3.1 contract in the shape of the riders demo API.
///
/// - `GET /api/riders`: bounded query, header and cookie parameters.
/// - `POST /api/riders`: a closed `Rider` body (`additionalProperties: false`,
///   `readOnly` id and role, `writeOnly` password).
/// - `GET|PATCH /api/riders/{riderId}`: an integer path parameter; the patch
///   body schema leaves `additionalProperties` open.
/// - `GET /api/files/{name}`: a free-form string segment.
/// - `PUT /api/uploads/{name}`: an `application/octet-stream` body (streamed,
///   not parsed).
/// - `GET /api/status/`: a template with a trailing slash, answered with 204.
pub const RIDERS: &str = r##"
openapi: 3.1.0
info: {title: Riders, version: 1.0.0}
# Every operation is public here: these tests are about the contract, not identity.
security: []
servers:
  - url: /api
paths:
  /riders:
    get:
      operationId: searchRiders
      parameters:
        - {name: q, in: query, schema: {type: string, maxLength: 16}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 50}}
        - {name: X-Api-Version, in: header, schema: {type: integer, enum: [1, 2]}}
        - {name: theme, in: cookie, schema: {type: string, enum: [light, dark]}}
      responses:
        "200":
          description: Matching riders.
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Rider"}
    post:
      operationId: createRider
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Rider"}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Rider"}
  /riders/{riderId}:
    parameters:
      - {name: riderId, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getRider
      responses:
        "200":
          description: The rider.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Rider"}
        "404":
          description: No such rider.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
    patch:
      operationId: updateRider
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/RiderPatch"}
      responses:
        "200":
          description: The updated rider.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Rider"}
  /files/{name}:
    get:
      operationId: getFile
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: The file.
          content:
            text/plain: {}
  /uploads/{name}:
    put:
      operationId: upload
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/octet-stream: {}
      responses:
        "204": {description: Stored.}
  /status/:
    get:
      operationId: status
      responses:
        "204": {description: Up.}
components:
  schemas:
    Rider:
      type: object
      additionalProperties: false
      required: [id, name]
      properties:
        id: {type: integer, minimum: 1, readOnly: true}
        name: {type: string, minLength: 1, maxLength: 32}
        role: {type: string, enum: [member, admin], readOnly: true}
        age: {type: integer, minimum: 13, maximum: 120}
        password: {type: string, minLength: 8, writeOnly: true}
    RiderPatch:
      type: object
      properties:
        name: {type: string, minLength: 1, maxLength: 32}
        age: {type: integer, minimum: 13, maximum: 120}
        role: {type: string, enum: [member, admin], readOnly: true}
    Error:
      type: object
      required: [message]
      properties:
        message: {type: string}
"##;
