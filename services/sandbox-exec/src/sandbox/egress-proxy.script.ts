// The egress proxy: a small Python 3 program run (as `python3 -c`) in the locally built sandbox
// image, so no other image is needed. It is the only process attached both to the internal egress
// network and to an outside network; a sandbox on the egress network has no route anywhere else.
//
// It accepts `CONNECT host:port` (HTTPS and any TLS) and absolute-form plain HTTP requests
// (`GET http://host:port/path`), and opens the upstream connection only when host:port is on the
// allowlist (exact, case-insensitive host, exact port). Every refusal is one JSON line on stdout
// ({"event":"denied",...}); sandbox-exec reads them and appends `exec.egress.denied`.
//
// It is also the DNS server of the sandboxes on the egress network (their `--dns`): a sink on UDP
// port 53 that answers every query REFUSED and reports the queried name ({"event":"dns",...}), so
// a name lookup can neither leak data to an outside resolver nor go unaudited. A sandbox needs no
// name resolution for allowlisted destinations: the proxy resolves them.
// Arguments: <listen port> <dns port> <host:port>...
export const EGRESS_PROXY_PORT = 3128;
export const EGRESS_DNS_PORT = 53;

export const EGRESS_PROXY_SCRIPT = String.raw`
import asyncio, json, sys

LISTEN_PORT = int(sys.argv[1])
DNS_PORT = int(sys.argv[2])
ALLOW = set()
for item in sys.argv[3:]:
    host, _, port = item.rpartition(':')
    ALLOW.add((host.strip('[]').lower(), int(port)))

def log(kind, **fields):
    fields['event'] = kind
    print(json.dumps(fields), flush=True)

async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass

def parse_authority(authority, default_port):
    if '@' in authority or not authority:
        return None
    if authority.startswith('['):
        end = authority.find(']')
        if end < 0:
            return None
        host, rest = authority[1:end], authority[end + 1:]
        if rest and not rest.startswith(':'):
            return None
        port = rest[1:] if rest else str(default_port)
    elif ':' in authority:
        host, _, port = authority.rpartition(':')
    else:
        host, port = authority, str(default_port)
    if not port.isdigit() or not host or not 0 < int(port) < 65536:
        return None
    return host.lower(), int(port)

async def handle(reader, writer):
    peer = writer.get_extra_info('peername') or ('', 0)
    client = peer[0]
    try:
        head = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 15)
    except Exception:
        writer.close()
        return
    lines = head.decode('latin-1').split('\r\n')
    parts = lines[0].split(' ')
    method = parts[0].upper()[:32] if parts else ''
    target = None
    path = None
    if len(parts) == 3 and method == 'CONNECT':
        target = parse_authority(parts[1], 443)
    elif len(parts) == 3 and parts[1].lower().startswith('http://'):
        authority, slash, rest = parts[1][7:].partition('/')
        target = parse_authority(authority, 80)
        path = '/' + rest
    if target is None:
        log('denied', reason='malformed', client=client, method=method, destination=(parts[1] if len(parts) > 1 else '')[:256])
        writer.write(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        await writer.drain()
        writer.close()
        return
    host, port = target
    destination = ('[%s]' % host if ':' in host else host) + ':' + str(port)
    if (host, port) not in ALLOW:
        log('denied', reason='not_allowlisted', client=client, method=method, destination=destination[:256])
        body = b'palisade egress proxy: destination not on the allowlist\n'
        writer.write(b'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(body) + body)
        await writer.drain()
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except Exception:
        log('upstream_failed', client=client, method=method, destination=destination)
        writer.write(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        await writer.drain()
        writer.close()
        return
    if method == 'CONNECT':
        writer.write(b'HTTP/1.1 200 Connection established\r\n\r\n')
        await writer.drain()
    else:
        headers = [h for h in lines[1:] if h and not h.lower().startswith('proxy-')]
        request = ' '.join([parts[0], path, parts[2]]) + '\r\n' + ''.join(h + '\r\n' for h in headers) + '\r\n'
        up_writer.write(request.encode('latin-1'))
        await up_writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

def qname(packet):
    labels, i = [], 12
    while i < len(packet) and len(labels) < 128:
        n = packet[i]
        if n == 0:
            return '.'.join(labels), i + 1
        if n & 0xC0 or i + 1 + n > len(packet):
            return None, 0
        labels.append(packet[i + 1:i + 1 + n].decode('ascii', 'backslashreplace'))
        i += 1 + n
    return None, 0

class DnsSink(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) < 12 or data[2] & 0x80:
            return
        name, end = qname(data) if int.from_bytes(data[4:6], 'big') >= 1 else (None, 0)
        qtype = int.from_bytes(data[end:end + 2], 'big') if name is not None and end + 4 <= len(data) else 0
        log('dns', client=addr[0], name=(name if name is not None else '')[:253], qtype=qtype)
        # Same id and question; QR set, opcode and RD kept, RCODE 5 (REFUSED), no records.
        flags = 0x8000 | (data[2] << 8 & 0x7900) | 5
        question = data[12:end + 4] if name is not None and end + 4 <= len(data) else b''
        header = data[0:2] + flags.to_bytes(2, 'big') + (b'\x00\x01' if question else b'\x00\x00') + b'\x00' * 6
        self.transport.sendto(header + question, addr)

async def main():
    server = await asyncio.start_server(handle, '0.0.0.0', LISTEN_PORT)
    await asyncio.get_running_loop().create_datagram_endpoint(DnsSink, local_addr=('0.0.0.0', DNS_PORT))
    log('ready', port=LISTEN_PORT, allow=sorted('%s:%d' % a for a in ALLOW))
    async with server:
        await server.serve_forever()

asyncio.run(main())
`;
