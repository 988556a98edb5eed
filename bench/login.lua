-- The sign-in flood of bench/run.sh: every request is POST /login with a
-- wrong password for an existing account, so each one pays the full argon2id
-- verify (the cost a flood imposes), and the CSRF token of one anonymous
-- session. The script raises the lock-out limits of the server it starts so
-- that the flood measures hashing, not the 429 that normally ends it.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_LOGIN_COOKIE")
