/**
 * The login page (GET /login): one password field for the admin or viewer token, posted to
 * POST /login, which sets the session cookie and redirects to `next` (a path on this server).
 * No script: it works under the CSP with JavaScript off. `error` is shown above the form
 * (wrong token, too many attempts); `next` is carried in a hidden field, escaped.
 */
import { PRODUCT } from "./layout.tsx";
import { STATIC } from "./urls.ts";

export interface LoginPageProps {
  next: string;
  error?: string;
  /** Shown when logging out worked. */
  notice?: string;
}

export function LoginPage(p: LoginPageProps): JSX.Element {
  return (
    <>
      {"<!doctype html>"}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="dark" />
          <title>Log in · {PRODUCT}</title>
          <link rel="stylesheet" href={STATIC.css} />
        </head>
        <body>
          <main id="login" class="login">
            <h1 safe>{PRODUCT.toUpperCase()}</h1>
            {p.notice ? <p class="login-notice" role="status" safe>{p.notice}</p> : ""}
            {p.error ? <p class="login-error" role="alert" safe>{p.error}</p> : ""}
            <form method="post" action="/login">
              <input type="hidden" name="next" value={p.next} />
              <label for="token">Access token</label>
              <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
              <button type="submit">Log in</button>
            </form>
            <p class="login-hint">Ask the sensor's administrator for a token (<code>flowmatrix token</code> makes one).</p>
          </main>
        </body>
      </html>
    </>
  );
}
