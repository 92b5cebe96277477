-- Plays the MTA (Postfix's smtpd) handing one message to the milter: connect, HELO, MAIL,
-- RCPT (with an ORCPT argument, as Postfix passes it), DATA, the headers of an .eml file, EOH,
-- its body in chunks, EOM. Any reply other than "continue" ends the message; that reply and
-- the stage it came at are checked against the expectation.
--
-- Variables (miltertest -D name=value):
--   sock          milter socket, e.g. inet:8891@127.0.0.1 or unix:/path
--   eml           the message file; @TOKEN@ and @DOMAIN@ in it are replaced
--   token         the VERP token to put in for @TOKEN@
--   domain        the bounce domain to put in for @DOMAIN@
--   sender        envelope sender as the MTA passes it (e.g. "<>")
--   rcpt          envelope recipient as the MTA passes it (e.g. "<bounce+TOKEN@DOMAIN>")
--   expect        expected final reply: accept | discard | tempfail | reject
--   expect_stage  stage the reply must come at: data | header | eoh | body | eom

local replies = {
  accept = SMFIR_ACCEPT, discard = SMFIR_DISCARD, tempfail = SMFIR_TEMPFAIL,
  reject = SMFIR_REJECT, continue = SMFIR_CONTINUE,
}
local names = {}
for name, code in pairs(replies) do names[code] = name end

local function check(err, what)
  if err ~= nil then error(what .. " failed: " .. tostring(err)) end
end

local function finish(conn, reply, stage)
  local got = names[reply] or tostring(reply)
  mt.echo("milter answered " .. got .. " at " .. stage)
  if got ~= expect then
    error("expected " .. expect .. ", got " .. got .. " at " .. stage)
  end
  if expect_stage ~= nil and expect_stage ~= stage then
    error("expected the answer at " .. expect_stage .. ", got it at " .. stage)
  end
  check(mt.disconnect(conn), "disconnect")
  os.exit(0)
end

-- Sends one step; returns only while the milter says "continue".
local function step(conn, err, stage)
  check(err, stage)
  local reply = mt.getreply(conn)
  if reply ~= SMFIR_CONTINUE then finish(conn, reply, stage) end
end

local f = assert(io.open(eml, "rb"), "cannot open " .. eml)
local text = f:read("*a")
f:close()
text = text:gsub("\r\n", "\n"):gsub("@TOKEN@", token or "notoken"):gsub("@DOMAIN@", domain)
local head, body = text:match("^(.-)\n\n(.*)$")
assert(head, eml .. " has no header/body separator")

local conn = mt.connect(sock, 50, 0.1)
assert(conn, "could not connect to " .. sock)

step(conn, mt.conninfo(conn, "mx.example.net", "127.0.0.1"), "connect")
step(conn, mt.helo(conn, "mx.example.net"), "helo")
check(mt.macro(conn, SMFIC_MAIL, "i", "4C2A51E0F3"), "macro")
step(conn, mt.mailfrom(conn, sender), "mail")
local bare = rcpt:gsub("[<>]", "")
step(conn, mt.rcptto(conn, rcpt, "ORCPT=rfc822;" .. bare), "rcpt")
step(conn, mt.data(conn), "data")

-- Headers as Postfix sends them: folded continuation lines kept, joined with "\n".
local headers = {}
for line in (head .. "\n"):gmatch("(.-)\n") do
  if line:match("^[ \t]") and #headers > 0 then
    headers[#headers].value = headers[#headers].value .. "\n" .. line
  else
    local name, value = line:match("^([^:]+):%s?(.*)$")
    assert(name, "bad header line: " .. line)
    headers[#headers + 1] = { name = name, value = value }
  end
end
for _, h in ipairs(headers) do
  step(conn, mt.header(conn, h.name, h.value), "header")
end
step(conn, mt.eoh(conn), "eoh")

-- The body with CRLF line ends, in chunks like the MTA's.
body = body:gsub("\n", "\r\n")
local pos = 1
while pos <= #body do
  step(conn, mt.bodystring(conn, body:sub(pos, pos + 4095)), "body")
  pos = pos + 4096
end

check(mt.eom(conn), "eom")
finish(conn, mt.getreply(conn), "eom")
