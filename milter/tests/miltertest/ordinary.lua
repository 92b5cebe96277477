-- Ordinary mail (not to the bounce domain) on one MTA connection, in both forms Postfix uses:
-- smtpd's "<addr>" with ESMTP arguments, and the cleanup server's (non_smtpd_milters) bare
-- addresses with a null sender. The milter must accept each at DATA, the first stage at which
-- all recipients are known, without reading headers or body; the connection then serves the
-- next message.
--
-- Variables (miltertest -D name=value):
--   sock     milter socket, e.g. inet:8891@127.0.0.1 or unix:/path
--   domain   the bounce domain (a recipient in a look-alike domain must not fool the milter)

local function check(err, what)
  if err ~= nil then error(what .. " failed: " .. tostring(err)) end
end

local function expect(conn, want, what)
  local got = mt.getreply(conn)
  if got ~= want then
    error(what .. ": expected reply " .. tostring(want) .. ", got " .. tostring(got))
  end
end

local conn = mt.connect(sock, 50, 0.1)
assert(conn, "could not connect to " .. sock)

check(mt.conninfo(conn, "client.example.com", "127.0.0.1"), "conninfo")
expect(conn, SMFIR_CONTINUE, "connect")
check(mt.helo(conn, "client.example.com"), "helo")
expect(conn, SMFIR_CONTINUE, "helo")

local messages = {
  { from = "<news@example.org>", rcpts = { { "<alice@example.test>", "NOTIFY=FAILURE" } } },
  { from = "", rcpts = { { "postmaster@example.test" } } },
  { from = "<a@example.org>", rcpts = { { "<bob@example.test>" },
                                        { "<bounce+x@" .. domain .. ".evil.test>" } } },
}

for i, m in ipairs(messages) do
  check(mt.mailfrom(conn, m.from), "mail " .. i)
  expect(conn, SMFIR_CONTINUE, "mail " .. i)
  for _, r in ipairs(m.rcpts) do
    check(mt.rcptto(conn, (table.unpack or unpack)(r)), "rcpt " .. i)
    expect(conn, SMFIR_CONTINUE, "rcpt " .. i)
  end
  check(mt.data(conn), "data " .. i)
  expect(conn, SMFIR_ACCEPT, "data " .. i)
  mt.echo("message " .. i .. " accepted at DATA")
end

check(mt.disconnect(conn), "disconnect")
