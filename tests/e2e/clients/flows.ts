// The README's flows through a TypeScript client generated from openapi.json: openapi-typescript
// writes schema.d.ts next to this file, openapi-fetch makes the calls, and `tsc --strict` checks
// every call against the generated types before node runs it (tests/e2e/test_generated_clients.py).
//
//   node out/flows.js <base URL> <tag for unique names> <ISO time the test started>
//
// Prints one JSON line per flow, {"flow": ..., "ok": true|false, "error"?: ...}; exits 1 if any
// flow failed. Every flow runs even when an earlier one failed.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type User = components["schemas"]["User"];
type UserPage = components["schemas"]["UserPage"];
type ApiError = components["schemas"]["Error"];

const [baseUrl, tag, started] = process.argv.slice(2);
if (!baseUrl || !tag || !started) {
  console.error("usage: node out/flows.js <base URL> <tag> <ISO time>");
  process.exit(2);
}
const client = createClient<paths>({ baseUrl });
const state: { joy?: string; etag?: string; ann?: string; annEmail?: string } = {};

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function need<T>(value: T | undefined, name: string): T {
  check(value !== undefined, `${name} is not set (an earlier flow failed)`);
  return value;
}

// An error body in the function's shape, `{"error": ..., "code": ...}` (not API Gateway's).
function apiError(error: unknown): ApiError {
  check(typeof error === "object" && error !== null && "code" in error, "not the error shape");
  return error as ApiError;
}

function isUser(body: User | UserPage): body is User {
  return "user_id" in body;
}

const flows: Record<string, () => Promise<void>> = {
  async hello() {
    const { data, response } = await client.GET("/hello");
    check(response.status === 200 && data?.message === "Hello from Lambda", "hello");
  },

  async create_with_user_id() {
    const userId = `${tag}-joy`;
    const { data, response } = await client.POST("/users", {
      body: { user_id: userId, name: "Joy" },
    });
    check(response.status === 201, `status ${response.status}`);
    check(data?.user_id === userId && data.version === 1, "created user");
    check(response.headers.get("ETag") === '"1"', "ETag");
    check(response.headers.get("Location") === `/users/${userId}`, "Location");
    state.joy = userId;
  },

  async read_with_query_id() {
    const id = need(state.joy, "joy");
    const { data, response } = await client.GET("/users", { params: { query: { id } } });
    check(response.status === 200 && data !== undefined, `status ${response.status}`);
    check(isUser(data) && data.name === "Joy", "the user");
  },

  async read_with_path() {
    const userId = need(state.joy, "joy");
    const { data, response } = await client.GET("/users/{user_id}", {
      params: { path: { user_id: userId } },
    });
    check(response.status === 200 && data?.user_id === userId, `status ${response.status}`);
    const etag = response.headers.get("ETag");
    check(etag !== null, "ETag");
    state.etag = etag;
  },

  async create_without_user_id() {
    const email = `Ann.${tag}@Example.com`;
    const { data, response } = await client.POST("/users", { body: { name: "Ann", email } });
    check(response.status === 201 && data !== undefined, `status ${response.status}`);
    check(data.user_id.length === 32, "a generated user_id");
    check(data.email === email.toLowerCase(), "email stored lower-case");
    state.ann = data.user_id;
    state.annEmail = email.toLowerCase();
  },

  async look_up_by_email() {
    const email = need(state.annEmail, "annEmail").toUpperCase();
    const { data, response } = await client.GET("/users", { params: { query: { email } } });
    check(response.status === 200 && data !== undefined, `status ${response.status}`);
    check(isUser(data) && data.user_id === state.ann, "the user with that email");
  },

  async list_with_next_token() {
    for (const name of ["Bo", "Cy", "Di"]) {
      const { response } = await client.POST("/users", { body: { name } });
      check(response.status === 201, `create ${name}: ${response.status}`);
    }
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const query: { limit: number; created_after: string; next_token?: string } = {
        limit: 2,
        created_after: started,
      };
      if (token !== null) query.next_token = token;
      const { data, response } = await client.GET("/users", { params: { query } });
      check(response.status === 200 && data !== undefined, `status ${response.status}`);
      check(!isUser(data), "a page");
      check(data.count === data.items.length && data.items.length <= 2, "page size");
      seen.push(...data.items.map((user) => user.user_id));
      token = data.next_token;
      pages += 1;
    } while (token !== null);
    check(pages >= 3, `pages ${pages}`);
    check(seen.includes(need(state.joy, "joy")) && seen.includes(need(state.ann, "ann")), "ours");
    check(new Set(seen).size === seen.length, "no user twice");
  },

  async patch_with_if_match() {
    const userId = need(state.joy, "joy");
    const { data, response } = await client.PATCH("/users/{user_id}", {
      params: { path: { user_id: userId }, header: { "If-Match": need(state.etag, "etag") } },
      body: { email: `joy.${tag}@example.com` },
    });
    check(response.status === 200 && data?.version === 2, `status ${response.status}`);
    check(data.email === `joy.${tag}@example.com`, "email changed");
    check(response.headers.get("ETag") === '"2"', "ETag");
  },

  async stale_if_match_is_an_error() {
    const userId = need(state.joy, "joy");
    const { error, response } = await client.PATCH("/users/{user_id}", {
      params: { path: { user_id: userId }, header: { "If-Match": need(state.etag, "etag") } },
      body: { name: "Joy B" },
    });
    check(response.status === 412, `status ${response.status}`);
    const body = apiError(error);
    check(body.code === "precondition_failed" && body.current_version === 2, "412 body");
  },

  async replace() {
    const userId = need(state.joy, "joy");
    const { data, response } = await client.PUT("/users/{user_id}", {
      params: { path: { user_id: userId } },
      body: { name: "Joy B" },
    });
    check(response.status === 200 && data?.name === "Joy B", `status ${response.status}`);
    check(!data.email && data.version === 3, "an absent email removes it");
  },

  async create_replayed_for_its_idempotency_key() {
    const options = {
      params: { header: { "Idempotency-Key": `${tag}-eve` } },
      body: { name: "Eve" },
    };
    const first = await client.POST("/users", options);
    const again = await client.POST("/users", options);
    check(first.response.status === 201 && again.response.status === 201, "201 twice");
    check(again.data?.user_id === first.data?.user_id, "the same user");
    check(again.response.headers.get("Idempotent-Replayed") === "true", "replayed");
  },

  async delete() {
    const { response } = await client.DELETE("/users/{user_id}", {
      params: { path: { user_id: need(state.joy, "joy") }, header: { "If-Match": '"3"' } },
    });
    check(response.status === 204, `status ${response.status}`);
  },

  async not_found_is_the_error_shape() {
    const userId = need(state.joy, "joy");
    const { error, response } = await client.GET("/users/{user_id}", {
      params: { path: { user_id: userId } },
    });
    check(response.status === 404, `status ${response.status}`);
    const body = apiError(error);
    check(body.code === "user_not_found" && body.error.includes(userId), "404 body");
  },

  async bad_request_is_the_error_shape() {
    const { error, response } = await client.POST("/users", { body: { name: "" } });
    check(response.status === 400, `status ${response.status}`);
    const body = apiError(error);
    check(body.code === "validation_error", "400 code");
    check(body.fields?.map((f) => f.field).join() === "name", "the bad field");
  },
};

let failures = 0;
for (const [flow, run] of Object.entries(flows)) {
  try {
    await run();
    console.log(JSON.stringify({ flow, ok: true }));
  } catch (error) {
    failures += 1;
    console.log(JSON.stringify({ flow, ok: false, error: String(error) }));
  }
}
process.exit(failures === 0 ? 0 : 1);
