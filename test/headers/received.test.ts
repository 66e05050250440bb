import { describe, expect, it } from 'vitest';
import { parseReceived } from '../../src/headers/analyze.js';
import type { ReceivedFields } from '../../src/core/headers.js';

const NONE: ReceivedFields = { from: null, by: null, via: null, with: null, id: null, for: null, fromIp: null, date: null };
const AT = '2026-11-26T03:30:00.000Z';

describe('parseReceived: real MTA shapes', () => {
  it.each<{ name: string; value: string; want: Partial<ReceivedFields> }>([
    {
      name: 'Postfix (this project\'s stack)',
      value: 'from mail.probe.test (localhost [127.0.0.1]) by mail.probe.test (Postfix) with ESMTPS id 4Xyz for <probe@probe.test>; Thu, 26 Nov 2026 03:30:00 +0000 (UTC)',
      want: { from: 'mail.probe.test', by: 'mail.probe.test', with: 'ESMTPS', id: '4Xyz', for: 'probe@probe.test', fromIp: '127.0.0.1', date: AT },
    },
    {
      name: 'Postfix with its TLS comment (nested parentheses, "with" inside)',
      value:
        'from relay.example.org (relay.example.org [198.51.100.25]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256) (No client certificate requested) by mx.example.net (Postfix) with ESMTPS id 4XzA1b2C3dz9sQZ for <probe@example.net>; Thu, 26 Nov 2026 03:30:00 +0000 (UTC)',
      want: { from: 'relay.example.org', by: 'mx.example.net', with: 'ESMTPS', id: '4XzA1b2C3dz9sQZ', for: 'probe@example.net', fromIp: '198.51.100.25', date: AT },
    },
    {
      name: 'Postfix local pickup: no from, "(Postfix, from userid 1000)"',
      value: 'by app.example.org (Postfix, from userid 1000) id 4XzA0a1B2cz9sQY; Thu, 26 Nov 2026 03:30:00 +0000 (UTC)',
      want: { by: 'app.example.org', id: '4XzA0a1B2cz9sQY', date: AT },
    },
    {
      name: 'Dovecot LMTP',
      value: 'from mail.probe.test by mail.probe.test with LMTP id abc (envelope-from <probe-sender@probe.test>) for <probe@probe.test>; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'mail.probe.test', by: 'mail.probe.test', with: 'LMTP', id: 'abc', for: 'probe@probe.test', date: AT },
    },
    {
      name: 'Exchange: multi-word with, version comment, via Frontend Transport',
      value:
        'from mail.example.org (192.0.2.10) by BN1PEPF00004680.mail.protection.outlook.com (10.167.243.85) with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7633.15 via Frontend Transport; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'mail.example.org', by: 'BN1PEPF00004680.mail.protection.outlook.com', with: 'Microsoft SMTP Server', id: '15.20.7633.15', via: 'Frontend Transport', fromIp: '192.0.2.10', date: AT },
    },
    {
      name: 'Exchange 2010: "with Microsoft SMTP Server id" (no comment before id), IPv6 in the comment',
      value: 'from EX1.contoso.example (2001:db8::15) by EX2.contoso.example (2001:db8::16) with Microsoft SMTP Server id 14.3.498.0; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'EX1.contoso.example', by: 'EX2.contoso.example', with: 'Microsoft SMTP Server', id: '14.3.498.0', fromIp: '2001:db8::15', date: AT },
    },
    {
      name: 'Exchange mapi with an IPv6 literal and zone index',
      value: 'from DM6PR11MB1234.namprd11.prod.outlook.com ([fe80::5a1b:2c3d:4e5f:6a7b]) by DM6PR11MB1234.namprd11.prod.outlook.com ([fe80::5a1b:2c3d:4e5f:6a7b%5]) with mapi id 15.20.7633.018; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'DM6PR11MB1234.namprd11.prod.outlook.com', by: 'DM6PR11MB1234.namprd11.prod.outlook.com', with: 'mapi', id: '15.20.7633.018', fromIp: 'fe80::5a1b:2c3d:4e5f:6a7b', date: AT },
    },
    {
      name: 'Gmail: ESMTPS id, for, then a TLS comment',
      value: 'from mail.example.org (mail.example.org. [192.0.2.10]) by mx.google.com with ESMTPS id x.y.z for <a@b.example> (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'mail.example.org', by: 'mx.google.com', with: 'ESMTPS', id: 'x.y.z', for: 'a@b.example', fromIp: '192.0.2.10', date: AT },
    },
    {
      name: 'Gmail internal: "by 2002:a05:..." with SMTP id',
      value: 'by 2002:a05:6a20:9f91:b0:1a3:ae11:4d21 with SMTP id x.y.z; Wed, 25 Nov 2026 19:30:00 -0800 (PST)',
      want: { by: '2002:a05:6a20:9f91:b0:1a3:ae11:4d21', with: 'SMTP', id: 'x.y.z', date: AT },
    },
    {
      name: 'qmail injection: a comment and a date only',
      value: '(qmail 12345 invoked by uid 89); 26 Nov 2026 03:30:00 -0000',
      want: { date: AT },
    },
    {
      name: 'qmail-smtpd: from unknown (HELO x) (ip)',
      value: 'from unknown (HELO x.example) (1.2.3.4) by y.example with SMTP; 26 Nov 2026 03:30:00 -0000',
      want: { from: 'unknown', by: 'y.example', with: 'SMTP', fromIp: '1.2.3.4', date: AT },
    },
    {
      name: 'qmail authenticated: (user@ip)',
      value: 'from unknown (HELO mail.example.org) (probe@192.0.2.7) by mx.example.info with ESMTPA; 26 Nov 2026 03:30:00 -0000',
      want: { from: 'unknown', by: 'mx.example.info', with: 'ESMTPA', fromIp: '192.0.2.7', date: AT },
    },
    {
      name: 'Exim: esmtpsa (TLS1.3) tls ... (Exim 4.96) (envelope-from) id',
      value: 'from [192.0.2.9] (helo=client.example.org) by mx.example.net with esmtpsa (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <sender@example.org>) id 1abc-000ABC-0 for probe@example.net; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: '[192.0.2.9]', by: 'mx.example.net', with: 'esmtpsa', id: '1abc-000ABC-0', for: 'probe@example.net', fromIp: '192.0.2.9', date: AT },
    },
    {
      name: 'Exim: address in the comment with helo=',
      value: 'from mail.example.org ([192.0.2.9] helo=mail.example.org) by mx.example.net with esmtp (Exim 4.96) id 1abc-000ABC-1; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'mail.example.org', by: 'mx.example.net', with: 'esmtp', id: '1abc-000ABC-1', fromIp: '192.0.2.9', date: AT },
    },
    {
      name: 'Sendmail: version comment, TLS comment after the id',
      value: 'from client.example.org (client.example.org [192.0.2.5]) by mx.example.com (8.15.2/8.15.2) with ESMTPS id 2AQ3U0xY012345 (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT) for <probe@example.com>; Thu, 26 Nov 2026 03:30:00 GMT',
      want: { from: 'client.example.org', by: 'mx.example.com', with: 'ESMTPS', id: '2AQ3U0xY012345', for: 'probe@example.com', fromIp: '192.0.2.5', date: AT },
    },
    {
      name: 'Sendmail submit: (from user@localhost)',
      value: '(from probe@localhost) by host.example.com (8.15.2/8.15.2/Submit) id 5AQ3TwQa001122; Thu, 26 Nov 2026 03:30:00 GMT',
      want: { by: 'host.example.com', id: '5AQ3TwQa001122', date: AT },
    },
    {
      name: 'IPv6 address literal as the from domain, msg-id style id',
      value: 'from [IPv6:2001:db8::25] by mx.example.net with ESMTP id <20261126033000.ABC@mx.example.net>; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: '[IPv6:2001:db8::25]', by: 'mx.example.net', with: 'ESMTP', id: '20261126033000.ABC@mx.example.net', fromIp: '2001:db8::25', date: AT },
    },
    {
      name: 'keywords in any case, clauses out of order',
      value: 'BY mx.example.net ID q1 FROM a.example WITH esmtp FOR <x@example.net>; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { from: 'a.example', by: 'mx.example.net', with: 'esmtp', id: 'q1', for: 'x@example.net', date: AT },
    },
    {
      name: 'the date after the LAST ";", a ";" inside a comment ignored',
      value: 'from a.example (x; y) by b.example; id q2; Thu, 26 Nov 2026 03:30:00 +0000 (UTC; really)',
      want: { from: 'a.example', by: 'b.example', id: 'q2', date: AT },
    },
    {
      name: 'missing date',
      value: 'from a.example by b.example with SMTP',
      want: { from: 'a.example', by: 'b.example', with: 'SMTP' },
    },
    {
      name: 'empty date after ";"',
      value: 'from a.example by b.example;',
      want: { from: 'a.example', by: 'b.example' },
    },
    {
      name: 'a keyword with no value',
      value: 'from by b.example with; Thu, 26 Nov 2026 03:30:00 +0000',
      want: { by: 'b.example', date: AT },
    },
  ])('$name', ({ value, want }) => {
    expect(parseReceived(value)).toEqual({ ...NONE, ...want });
  });

  it('first clause wins when one repeats; a plain-word extra clause (Exim "tls") is not part of with', () => {
    const r = parseReceived('from a.example from b.example by c.example with ESMTP tls TLS_AES_128_GCM_SHA256 id q3; Thu, 26 Nov 2026 03:30:00 +0000');
    expect([r.from, r.with, r.id]).toEqual(['a.example', 'ESMTP', 'q3']);
  });

  it('never throws and returns all-null for garbage', () => {
    for (const v of ['', ';', '(', ')', '"', '((((', 'from', '; ; ;', '\u0000\u0001', undefined, null, 7]) {
      expect(() => parseReceived(v as string)).not.toThrow();
    }
    expect(parseReceived('')).toEqual(NONE);
  });

  it('caps every field at 255 characters and strips control characters', () => {
    const r = parseReceived(`from ${'h'.repeat(5000)} by b\u0000.exa\u001bmple\u202e with ${'W'.repeat(300)}; Thu, 26 Nov 2026 03:30:00 +0000`);
    expect(r.from).toHaveLength(255);
    expect(r.by).toBe('b.example');
    expect(r.with).toHaveLength(255);
    expect(r.date).toBe(AT);
  });
});
