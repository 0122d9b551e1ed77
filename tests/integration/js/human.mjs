// A person on Element's own crypto: matrix-js-sdk with its Rust crypto, as Element Web runs it.
// Driven by the Python tests (human.py) one JSON line at a time on stdin; each line gets one JSON
// answer on stdout ({id, result} or {id, error}). Everything the SDK logs goes to stderr.
import { createInterface } from "node:readline";

// matrix-js-sdk ≥ 37.13 uses Promise.withResolvers, which Node 20 lacks (Node 22 has it).
if (!Promise.withResolvers) {
    Promise.withResolvers = function () {
        let resolve, reject;
        const promise = new this((res, rej) => { resolve = res; reject = rej; });
        return { promise, resolve, reject };
    };
}

// stdout carries the protocol alone.
for (const level of ["log", "info", "debug", "trace", "warn"]) {
    console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

const sdk = await import("matrix-js-sdk");
const { AllDevicesIsolationMode, OnlySignedDevicesIsolationMode } = await import("matrix-js-sdk/lib/crypto-api/index.js");

let client = null;
let password = "";

async function until(condition, what, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

const ops = {
    async start({ baseUrl, userId, accessToken, deviceId, password: userPassword }) {
        password = userPassword;
        client = sdk.createClient({ baseUrl, userId, accessToken, deviceId });
        await client.initRustCrypto({ useIndexedDB: false });
        const prepared = new Promise((resolve) => client.once(sdk.ClientEvent.Sync, resolve));
        await client.startClient({ initialSyncLimit: 20 });
        await prepared;
        return { deviceId: client.getDeviceId() };
    },

    // The person's own cross-signing identity: their client sends nothing in OnlySignedDevices mode without it.
    async crossSign() {
        const crypto = client.getCrypto();
        await crypto.bootstrapCrossSigning({
            setupNewCrossSigning: true,
            authUploadDeviceSigningKeys: async (makeRequest) => {
                try {
                    await makeRequest(null);
                } catch (error) {
                    if (error.httpStatus !== 401) throw error;
                    await makeRequest({ type: "m.login.password", password, session: error.data.session,
                                        identifier: { type: "m.id.user", user: client.getUserId() } });
                }
            },
        });
        await until(() => crypto.isCrossSigningReady(), "cross-signing ready");
        return {};
    },

    // Element's « exclude insecure devices » (MSC4153), or its legacy default.
    async isolation({ signedOnly }) {
        client.getCrypto().setDeviceIsolationMode(
            signedOnly ? new OnlySignedDevicesIsolationMode() : new AllDevicesIsolationMode(false));
        return {};
    },

    async createRoom({ name, invite }) {
        const { room_id: roomId } = await client.createRoom({
            name, invite,
            initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
        });
        await until(() => client.getRoom(roomId) !== null, `room ${roomId}`);
        return { roomId };
    },

    async waitJoined({ roomId, userId }) {
        await until(() => client.getRoom(roomId)?.getMember(userId)?.membership === "join", `${userId} to join`);
        return {};
    },

    // What Element knows of a user's devices and identity, fetched afresh.
    async deviceStatus({ userId }) {
        const crypto = client.getCrypto();
        const devices = (await crypto.getUserDeviceInfo([userId], true)).get(userId) ?? new Map();
        const result = {};
        for (const deviceId of devices.keys()) {
            const status = await crypto.getDeviceVerificationStatus(userId, deviceId);
            result[deviceId] = { signedByOwner: status?.signedByOwner ?? false,
                                 crossSigningVerified: status?.crossSigningVerified ?? false };
        }
        const identity = await crypto.getUserVerificationStatus(userId);
        return { devices: result, identityKnown: identity.known, needsUserApproval: identity.needsUserApproval };
    },

    async send({ roomId, body }) {
        const { event_id: eventId } = await client.sendMessage(roomId, { msgtype: "m.text", body });
        return { eventId };
    },

    // A sender's events in a room as Element shows them: text, why it could not be decrypted, its shield.
    // The bot's introduction (marked in its content) is left out unless asked for, as in bot/devtools/person.py.
    async messages({ roomId, sender, introductions = false }) {
        const room = client.getRoom(roomId);
        const events = (room?.getLiveTimeline().getEvents() ?? []).filter((event) => event.getSender() === sender &&
            (event.getWireType() === "m.room.encrypted" || event.getType() === "m.room.message"));
        const result = [];
        for (const event of events) {
            await client.decryptEventIfNeeded(event);
            const readable = event.isEncrypted() && !event.isDecryptionFailure();
            if (!introductions && event.getContent()["fr.manufacture.introduction"]) continue;
            const info = readable ? await client.getCrypto().getEncryptionInfoForEvent(event) : null;
            result.push({ eventId: event.getId(), type: event.getType(), body: event.getContent().body ?? null,
                          encrypted: event.isEncrypted(), decryptionFailure: event.decryptionFailureReason,
                          shieldColour: info?.shieldColour ?? null, shieldReason: info?.shieldReason ?? null });
        }
        return { events: result };
    },

    async stop() {
        client?.stopClient();
        return {};
    },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
    const { id, op, ...args } = JSON.parse(line);
    let answer;
    try {
        answer = { id, result: await ops[op](args) };
    } catch (error) {
        answer = { id, error: `${op}: ${error?.stack ?? error}` };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
    if (op === "stop") break;
}
process.exit(0);
