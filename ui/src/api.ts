// The backend's commands, one typed function each. Every response is validated at runtime with
// zod: a shape the UI does not expect is an error (`bad_response`), never silently displayed.

import { Channel, invoke } from '@tauri-apps/api/core';
import { z } from 'zod';
import type { AccountPosition } from './bindings/AccountPosition';
import type { InvoicePage as GeneratedInvoicePage } from './bindings/InvoicePage';
import type { LinePage as GeneratedLinePage } from './bindings/LinePage';
import type { RequestPage as GeneratedRequestPage } from './bindings/RequestPage';
import type { StudentPage as GeneratedStudentPage } from './bindings/StudentPage';
import type { AppStatus as GeneratedAppStatus } from './bindings/AppStatus';
import type { Backup as GeneratedBackup } from './bindings/Backup';
import type { Finding } from './bindings/Finding';
import type { ListedBackup as GeneratedListedBackup } from './bindings/ListedBackup';
import type { RegistrationsPreview as GeneratedRegistrationsPreview } from './bindings/RegistrationsPreview';
import type { RegistrationsSummary as GeneratedRegistrationsSummary } from './bindings/RegistrationsSummary';
import type { Request as GeneratedRequest } from './bindings/Request';
import type { Restored as GeneratedRestored } from './bindings/Restored';
import type { CardKind } from './bindings/CardKind';
import type { CardOutcome } from './bindings/CardOutcome';
import type { CardStatus } from './bindings/CardStatus';
import type { DunningLevel } from './bindings/DunningLevel';
import type { ExemptionOutcome } from './bindings/ExemptionOutcome';
import type { InstallmentStatus } from './bindings/InstallmentStatus';
import type { InvoiceStatus } from './bindings/InvoiceStatus';
import type { LineStatus } from './bindings/LineStatus';
import type { PaymentMethod } from './bindings/PaymentMethod';
import type { PlanKind } from './bindings/PlanKind';
import type { PositionKind } from './bindings/PositionKind';
import type { RefundStatus } from './bindings/RefundStatus';
import type { RequestStatus } from './bindings/RequestStatus';
import type { Role } from './bindings/Role';
import type { Rounding } from './bindings/Rounding';
import type { School } from './bindings/School';
import type { Severity } from './bindings/Severity';
import type { StatementFormat } from './bindings/StatementFormat';

const money = z.string().regex(/^-?\d+\.\d{2}$/, 'montant');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date');
const school = z.enum(['ISIMA', 'POLYTECH']);
const role = z.enum(['accountant', 'finance_manager']);
const severity = z.enum(['blocking', 'warning']);
const paymentMethod = z.enum(['card', 'debit', 'transfer', 'other']);
const positionKind = z.enum(['debtor', 'creditor', 'settled']);
const rounding = z.enum(['exact', 'portal']);
const statementFormat = z.enum(['tableur', 'CAMT.053', 'CAMT.054', 'CFONB 120']);
const lineStatus = z.enum(['matched', 'to_review', 'unmatched', 'debit']);
const invoiceStatus = z.enum(['open', 'settled', 'credited']);
const cardKind = z.enum(['debit', 'refund', 'chargeback']);
const cardStatus = z.enum(['captured', 'refused', 'cancelled']);
const exemptionOutcome = z.enum(['full', 'partial', 'refused']);
const plan = z.enum(['one', 'three', 'six', 'transfer']);
const status = z.enum(['pending', 'hold', 'approved', 'rejected']);
const refundStatus = z.enum(['to_pay', 'paid', 'cancelled']);
const installmentStatus = z.enum(['scheduled', 'partly_paid', 'paid', 'overdue', 'refused', 'cancelled']);
const finding = z.object({ code: z.string(), message: z.string(), severity });

/** A failure the core explained: what happened (`message`) and what to do (`hint`), in French;
 *  `code` classifies it for the screens, never shown alone. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const errorPayload = z.object({ code: z.string(), message: z.string(), hint: z.string() });

async function call<T>(
  command: string,
  schema: z.ZodType<T>,
  args?: Record<string, unknown> | Uint8Array,
  headers?: Record<string, string>,
): Promise<T> {
  let raw: unknown;
  try {
    raw = await invoke(command, args, headers ? { headers } : undefined);
  } catch (e) {
    const parsed = errorPayload.safeParse(e);
    if (parsed.success) throw new ApiError(parsed.data.code, parsed.data.message, parsed.data.hint);
    throw new ApiError('ipc', `L'application n'a pas pu exécuter « ${command} » (${String(e)}).`, 'Fermez et rouvrez Régie ; si cela se reproduit, transmettez ce message.');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError(
      'bad_response',
      `Réponse inattendue de « ${command} » (${parsed.error.issues[0]?.path.join('.')} : ${parsed.error.issues[0]?.message}).`,
      "L'écran et le cœur de Régie ne sont pas de la même version : réinstallez Régie, ou transmettez ce message.",
    );
  }
  return parsed.data;
}

/** The offline session a database is (a laptop's file), when it is one. */
export const SessionInfo = z.object({
  name: z.string(),
  office: z.string(),
  checked_out_at: z.string(),
  checked_out_by: z.string(),
  decisions: z.number(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

export const AppStatus = z.object({
  db_path: z.string(),
  students: z.number(),
  requests: z.number(),
  user: z.string(),
  role: role.nullable(),
  session: SessionInfo.nullable(),
  last_backup: z.object({ date: isoDate, path: z.string() }).nullable(),
  on_server: z.boolean(),
  profiles: z.array(z.object({ name: z.string(), role })),
});
export type AppStatus = z.infer<typeof AppStatus>;

export const DemoSummary = z.object({ students: z.number(), requests: z.number(), approved: z.number(), payments: z.number() });

export const Student = z.object({
  number: z.string(),
  last_name: z.string(),
  first_name: z.string(),
  email: z.string(),
  school: z.string(),
  session: z.string().nullable(),
  situation: z.string().nullable(),
  balance: money,
});
export type Student = z.infer<typeof Student>;
/** The first students matching a search, and how many match in all. */
export const StudentPage = z.object({ total: z.number(), offset: z.number(), students: z.array(Student) });

export const Position = z.object({
  student: z.object({ number: z.string(), last_name: z.string(), first_name: z.string(), email: z.string(), school }),
  orders: z.array(
    z.object({ date: isoDate, number: z.string(), settled_on: isoDate.nullable(), blocked: z.boolean(), excl_vat: money, vat: money, incl_vat: money, financed: money, invoiced: money }),
  ),
  invoices: z.array(
    z.object({ date: isoDate, number: z.string(), session: z.string(), settled_on: isoDate.nullable(), excl_vat: money, vat: money, incl_vat: money, credit_notes: money, settled: money, refunded: money }),
  ),
  payments: z.array(
    z.object({ date: isoDate, reference: z.string(), method: paymentMethod, amount: money, allocated: money, unpaid: money, unpaid_on: isoDate.nullable() }),
  ),
  credit_notes: z.array(z.object({ date: isoDate, number: z.string(), invoice_number: z.string(), amount: money, reason: z.string() })),
  refunds: z.array(z.object({ date: isoDate, amount: money, status: refundStatus })),
  schedule: z.array(
    z.object({
      due_date: isoDate,
      amount: money,
      paid: money,
      credited: money,
      left_to_pay: money,
      status: installmentStatus,
      refusal: z.string().nullable(),
      automatic: z.boolean(),
      invoice_number: z.string(),
      invoice_date: isoDate,
      invoice_amount: money,
      last_name: z.string(),
      first_name: z.string(),
    }),
  ),
  schedule_left_total: money,
  debited_total: money,
  totals: z.object({
    orders_excl_vat: money, orders_vat: money, orders_incl_vat: money, orders_financed: money, orders_invoiced: money,
    invoices_excl_vat: money, invoices_vat: money, invoices_incl_vat: money, invoices_credit_notes: money, invoices_settled: money, invoices_refunded: money,
    payments_amount: money, payments_allocated: money, payments_unpaid: money, credit_notes: money, refunds: money,
  }),
  summary: z.object({ debit: money, credit: money, balance: money, position: positionKind }),
});
export type Position = z.infer<typeof Position>;

export const FeeRow = z.object({
  academic_year: z.string(),
  school,
  programme: z.string(),
  situation: z.string(),
  situation_label: z.string(),
  amount: money,
});
export type FeeRow = z.infer<typeof FeeRow>;

export const Request = z.object({
  id: z.number(),
  student_number: z.string(),
  last_name: z.string(),
  first_name: z.string(),
  school,
  session: z.string(),
  year: z.number(),
  situation: z.string(),
  plan,
  amount: money,
  requested_on: isoDate,
  status,
  findings: z.array(finding),
  reason: z.string().nullable(),
});
export type Request = z.infer<typeof Request>;
export const RequestPage = z.object({
  total: z.number().nullable(),
  offset: z.number(),
  rows: z.array(Request),
  situations: z.array(z.string()),
  finding_codes: z.array(z.string()),
});
export type RequestPage = z.infer<typeof RequestPage>;
/** What Demandes asks the core for: one page of the requests, filtered, searched and sorted there. */
export interface RequestQuery {
  status: string | null;
  school: string | null;
  plan: string | null;
  situation: string | null;
  finding: string | null;
  search: string | null;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
  count?: PageCount;
}
/** Whether a page comes with its list's count (`later`: the rows alone, the count asked next). */
export type PageCount = 'later' | 'counted';
export type { RequestStatus };

const plans_ = plan;
export const Schedule = z.object({
  installments: z.array(z.object({ n: z.number(), due_date: isoDate, amount: money })),
  total: money,
  findings: z.array(finding),
});

export const RequestDetail = z.object({
  request: Request,
  email: z.string(),
  situation_label: z.string(),
  rounding,
  six_threshold: money,
  schedule: Schedule.nullable(),
  schedule_error: z.string().nullable(),
  decided_by: z.string().nullable(),
  decided_at: z.string().nullable(),
  declared: z.array(z.object({ label: z.string(), value: z.string() })),
});
export type RequestDetail = z.infer<typeof RequestDetail>;

export const Decided = z.object({ id: z.number(), status, invoice: z.string().nullable() });
export type Decided = z.infer<typeof Decided>;

/** One request of a batch: decided now, or already decided elsewhere (nothing changed for it). */
export const InBatch = z.discriminatedUnion('outcome', [
  Decided.extend({ outcome: z.literal('decided') }),
  z.object({ outcome: z.literal('conflict'), id: z.number(), message: z.string() }),
]);
export type InBatch = z.infer<typeof InBatch>;

export const AutoReview = z.object({
  dry_run: z.boolean(),
  rejected: z.array(z.number()),
  flagged: z.array(z.object({ id: z.number(), finding })),
});
export type AutoReview = z.infer<typeof AutoReview>;

export const SchoolSettings = z.object({
  school,
  name: z.string(),
  six_threshold: money,
  rounding,
  debit_day: z.number(),
  deadline_month: z.number(),
  deadline_day: z.number(),
  work_study_year: z.number(),
  differentiated_by_transfer: z.boolean(),
  address: z.string(),
  iban: z.string(),
  bic: z.string(),
  domiciliation: z.string(),
  dunning_first_days: z.number(),
  dunning_second_days: z.number(),
  dunning_block_days: z.number(),
});
export type SchoolSettings = z.infer<typeof SchoolSettings>;

export type Plan = z.infer<typeof plans_>;

const amountColumns = z.union([z.object({ signed: z.number() }), z.object({ debit_credit: z.object({ debit: z.number(), credit: z.number() }) })]);
export const Mapping = z.object({
  header_row: z.number(),
  date: z.number(),
  value_date: z.number().nullable(),
  label: z.array(z.number()),
  amount: amountColumns,
});
export type Mapping = z.infer<typeof Mapping>;

/** A mapping as the user gives it, in the core's convention: rows from 1, columns as letters or numbers from 1. */
export type MappingSpec = {
  header: string;
  date: string;
  value_date: string | null;
  label: string;
  amount: string | null;
  debit: string | null;
  credit: string | null;
};

export const Preview = z.object({
  file: z.string(),
  rows: z.array(z.array(z.string())),
  mapping: Mapping.nullable(),
  missing: z.string().nullable(),
  lines: z.number(),
  first_error: z.string().nullable(),
  /** A bank format ("CAMT.053", "CFONB 120"): its columns need no mapping. */
  format: z.string().nullable(),
});
export type Preview = z.infer<typeof Preview>;

export const ImportSummary = z.object({
  file: z.string(),
  rows: z.number(),
  new: z.number(),
  already_known: z.number(),
  auto_matched: z.number(),
  to_review: z.number(),
  unmatched: z.number(),
  format: statementFormat,
});
export type ImportSummary = z.infer<typeof ImportSummary>;

export const Suggestion = z.object({ student_number: z.string(), name: z.string(), score: z.number(), reasons: z.array(z.string()) });
export const Line = z.object({
  id: z.number(),
  date: isoDate,
  label: z.string(),
  amount: money,
  unassigned: money,
  status: lineStatus,
  student_number: z.string().nullable(),
  student_name: z.string().nullable(),
  score: z.number().nullable(),
  reasons: z.array(z.string()),
  suggestions: z.array(Suggestion),
  remittance: z.string().nullable(),
  checked_out: z.string().nullable(),
  held: z.string().nullable(),
});
export type Line = z.infer<typeof Line>;
export const LinePage = z.object({
  total: z.number().nullable(),
  offset: z.number(),
  rows: z.array(Line),
  matched: z.number(),
  to_review: z.number(),
  unmatched: z.number(),
});
export type LinePage = z.infer<typeof LinePage>;
/** What Banque asks the core for: one page of the lines, filtered, searched and sorted there. */
export interface LineQuery {
  status: string | null;
  search: string | null;
  line: number | null;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
  count?: PageCount;
}

/** An offline session as the office lists it, with the decisions its check-ins could not apply. */
export const SessionView = z.object({
  name: z.string(),
  file: z.string(),
  checked_out_at: z.string(),
  checked_out_by: z.string(),
  status: z.enum(['out', 'checked_in', 'discarded']),
  closed_at: z.string().nullable(),
  closed_by: z.string().nullable(),
  conflicts: z.array(z.object({ line: z.number(), reason: z.string(), office: z.string() })),
});
export type SessionView = z.infer<typeof SessionView>;

export const CheckedOut = z.object({
  session: z.string(),
  file: z.string(),
  lines: z.number(),
  students: z.number(),
  installments: z.number(),
});
export const CheckedIn = z.object({
  session: z.string(),
  applied: z.number(),
  already_applied: z.number(),
  conflicts: z.array(z.object({ line: z.number(), reason: z.string(), office: z.string() })),
});

export const Invoice = z.object({
  number: z.string(),
  date: isoDate,
  student_number: z.string(),
  session: z.string(),
  total: money,
  settled: money,
  credited: money,
  status: invoiceStatus,
});
export type Invoice = z.infer<typeof Invoice>;
export const InvoicePage = z.object({ total: z.number().nullable(), offset: z.number(), rows: z.array(Invoice), sessions: z.array(z.string()) });
/** What Factures asks the core for: one page of the invoices, filtered, searched and sorted there. */
export interface InvoiceQuery {
  session: string | null;
  status: string | null;
  from: string | null;
  to: string | null;
  search: string | null;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
  count?: PageCount;
}
export const InvoicePreview = z.object({
  school: z.object({ name: z.string(), address: z.string(), iban: z.string(), bic: z.string() }),
  number: z.string(),
  date: z.string(),
  label: z.string(),
  session: z.string(),
  client: z.string(),
  student_number: z.string(),
  lines: z.array(z.object({ designation: z.string(), quantity: z.string(), discount: z.string(), vat: z.string(), amount: z.string() })),
  total_excl: z.string(),
  total_vat: z.string(),
  total_incl: z.string(),
  vat_mention: z.string(),
});
export type InvoicePreview = z.infer<typeof InvoicePreview>;
export const CardImportSummary = z.object({
  file: z.string(),
  rows: z.number(),
  new: z.number(),
  already_known: z.number(),
  paid: z.number(),
  refused: z.number(),
  refunded: z.number(),
  charged_back: z.number(),
  cancelled: z.number(),
  unknown: z.number(),
  remittance_lines: z.number(),
  remitted: z.number(),
  cancelled_since: z.number(),
});
export type CardImportSummary = z.infer<typeof CardImportSummary>;
const cardOutcome = z.enum(['paid', 'refused', 'refunded', 'charged_back', 'cancelled', 'unknown']);
export const CardTransaction = z.object({
  id: z.number(),
  number: z.string(),
  date: isoDate,
  time: z.string().nullable(),
  order_ref: z.string(),
  amount: money,
  kind: cardKind,
  status: cardStatus,
  response_code: z.string().nullable(),
  card_type: z.string().nullable(),
  remittance: z.string().nullable(),
  email: z.string().nullable(),
  student_number: z.string().nullable(),
  student_name: z.string().nullable(),
  invoice_number: z.string().nullable(),
  installment_n: z.number().nullable(),
  outcome: cardOutcome,
  refusal: z.string().nullable(),
  reasons: z.array(z.string()),
});
export type CardTransaction = z.infer<typeof CardTransaction>;
export const CardTransactionPage = z.object({ total: z.number(), offset: z.number(), rows: z.array(CardTransaction) });
/** What Cartes asks the core for: one page of the transactions, filtered, searched and sorted there. */
export interface CardTransactionQuery {
  outcome: string | null;
  remittance: string | null;
  search: string | null;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
}
export const Remittance = z.object({
  number: z.string(),
  date: isoDate,
  gross: money,
  count: z.number(),
  bank_line_id: z.number().nullable(),
  bank_amount: money.nullable(),
  difference: money.nullable(),
  commission_line: money.nullable(),
  flagged: z.boolean(),
});
export type Remittance = z.infer<typeof Remittance>;
const level = z.enum(['none', 'first', 'second', 'blocked']);
export const DunningEntry = z.object({
  student_number: z.string(),
  last_name: z.string(),
  first_name: z.string(),
  email: z.string(),
  school,
  invoice: z.string(),
  installment: z.number(),
  due_date: isoDate,
  amount: money,
  reason: z.string(),
  level,
  reminded_on: isoDate.nullable(),
  next_level: level,
});
export type DunningEntry = z.infer<typeof DunningEntry>;
/** The counts of Relances' level buttons and of what a run raises. */
export const LevelCounts = z.object({
  overdue: z.number(),
  first: z.number(),
  second: z.number(),
  blocked: z.number(),
  raised: z.number(),
});
/** A page of what is overdue; the counts come only with a page asked for with its count. */
export const DunningPage = z
  .object({ total: z.number().nullable(), offset: z.number(), rows: z.array(DunningEntry) })
  .and(z.union([LevelCounts, z.object({})]));
export const DunningRun = z.object({
  letters: z.number(),
  raised: z.number(),
  blocked: z.number(),
  cleared: z.number(),
  files: z.array(z.string()),
});
export type DunningRun = z.infer<typeof DunningRun>;

export const Candidate = z.object({
  student_number: z.string(),
  last_name: z.string(),
  first_name: z.string(),
  school: z.string(),
  programme: z.string(),
  plan,
  plan_label: z.string(),
  situation: z.string(),
  academic_year: z.string(),
  added_by: z.string().nullable(),
  invoice_number: z.string(),
  invoiced: money,
  paid: money,
  scheduled: money,
  outcome: exemptionOutcome.nullable(),
  exempted: money.nullable(),
  session: z.string().nullable(),
});
export type Candidate = z.infer<typeof Candidate>;
export const Applied = z.object({
  cancelled_installments: z.array(z.number()),
  credit_note: z.object({ number: z.string(), amount: money }).nullable(),
  refund: z.object({ amount: money }).nullable(),
  changed: z.boolean(),
  reversed: z.string().nullable(),
});
export type Applied = z.infer<typeof Applied>;
const groupTotals = z.object({
  school: z.string(),
  programme: z.string(),
  students: z.number(),
  exempted: money,
  credit_notes: money,
  refunds_to_pay: money,
  refunds_paid: money,
});
export const Report = z.object({
  year: z.string().nullable(),
  groups: z.array(groupTotals),
  totals: groupTotals,
  months: z.array(z.object({ month: z.string(), expected: money, collected: money })),
});
export type Report = z.infer<typeof Report>;
export const Written = z.object({ file: z.string(), bytes: z.number() });

export const Progress = z.object({ phase: z.string(), done: z.number(), total: z.number() });
export type Progress = z.infer<typeof Progress>;

/** Paramètres' backups: those of backups/, one written now, one restored. */
const ListedBackup = z.object({ name: z.string(), date: isoDate, bytes: z.number() });
const Backup = z.object({ path: z.string(), bytes: z.number(), integrity: z.string(), removed: z.array(z.string()) });
const Restored = z.object({ database: z.string(), from: z.string(), set_aside: z.string().nullable(), schema: z.number() });

/** What importing the portal's registrations creates. */
const RegistrationsSummary = z.object({
  rows: z.number(),
  students_created: z.number(),
  requests_created: z.number(),
  unchanged: z.number(),
  ignored_columns: z.array(z.string()),
});
export type RegistrationsSummary = z.infer<typeof RegistrationsSummary>;

/** What the import would do, with its first rows and every bad row (row and column). */
const RegistrationsPreview = z.object({
  file: z.string(),
  rows: z.number(),
  sample: z.array(
    z.object({
      student_number: z.string(),
      last_name: z.string(),
      first_name: z.string(),
      school,
      session: z.string(),
      year_of_study: z.number(),
      situation: z.string(),
      plan,
      amount: money,
      requested_on: isoDate,
    }),
  ),
  errors: z.array(z.object({ row: z.number().nullable(), column: z.string().nullable(), message: z.string() })),
  more_errors: z.boolean(),
  would: RegistrationsSummary,
});
export type RegistrationsPreview = z.infer<typeof RegistrationsPreview>;

export const api = {
  appStatus: () => call('app_status', AppStatus),
  watchChanges: (onChange: () => void) => {
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => {
      if (z.number().safeParse(m).success) onChange();
    };
    return call('watch_changes', z.boolean(), { onChange: channel });
  },
  connectServer: (server: string, login: string, password: string) =>
    call('connect_server', AppStatus, { server, login, password }),
  loadDemo: () => call('load_demo', DemoSummary),
  /** A page of the students whose number or name holds `search`, by name. */
  students: (search: string | null, offset = 0, limit = 100) =>
    call('students_list', StudentPage, { query: { search, offset, limit } }),
  account: (studentNumber: string) => call('account_position', Position, { studentNumber }),
  feeGrid: () => call('fee_grid', z.array(FeeRow)),
  setFee: (entry: { academic_year: string; school: string; programme: string; situation: string; amount: string }, reason: string) =>
    call('fee_set', z.array(FeeRow), { entry, reason }),
  requests: (query: RequestQuery) => call('requests_list', RequestPage, { query }),
  signOut: () => call('sign_out', AppStatus),
  backups: () => call('backups_list', z.array(ListedBackup)),
  backupNow: () => call('backup_now', Backup),
  backupRestore: (name: string) => call('backup_restore', Restored, { name }),
  signIn: (name: string) => call('sign_in', z.object({ name: z.string(), role }), { name }),
  requestDetail: (id: number) => call('request_detail', RequestDetail, { id }),
  approve: (ids: number[], overrideReason: string | null = null) => call('requests_approve', z.array(InBatch), { ids, overrideReason }),
  reject: (ids: number[], reason: string) => call('requests_reject', z.array(InBatch), { ids, reason }),
  hold: (id: number, reason: string) => call('request_hold', Decided, { id, reason }),
  reopen: (id: number, reason: string) => call('request_reopen', Decided, { id, reason }),
  changePlan: (id: number, plan: Plan, reason: string | null) => call('request_change_plan', Decided, { id, plan, reason }),
  autoReview: (dryRun: boolean) => call('requests_auto_review', AutoReview, { dryRun }),
  exportLetters: (format: 'csv' | 'xlsx') => call('requests_export', z.object({ file: z.string(), letters: z.number() }), { format }),
  settings: () => call('settings_list', z.array(SchoolSettings)),
  /** Sends a file once, as its raw bytes; the core answers with the token the preview and the
   *  import then name it by (never a JSON array of numbers). */
  upload: async (file: File) =>
    call('file_upload', z.number(), new Uint8Array(await file.arrayBuffer()), { 'x-file-name': encodeURIComponent(file.name) }),
  registrationsPreview: (token: number) => call('registrations_preview', RegistrationsPreview, { token }),
  registrationsImport: (token: number) => call('registrations_import', RegistrationsSummary, { token }),
  statementPreview: (token: number) => call('statement_preview', Preview, { token }),
  statementImport: (
    token: number,
    choice: { mapping: MappingSpec | null; saveAs: string | null; profile: string | null },
    onProgress: (p: Progress) => void,
  ) => {
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => {
      const p = Progress.safeParse(m);
      if (p.success) onProgress(p.data);
    };
    return call('statement_import', ImportSummary, { token, ...choice, onProgress: channel });
  },
  statementProfiles: () => call('statement_profiles', z.array(z.tuple([z.string(), Mapping]))),
  statementLines: (query: LineQuery) => call('statement_lines', LinePage, { query }),
  sessions: () => call('sessions', z.array(SessionView)),
  sessionCheckout: () => call('session_checkout', CheckedOut),
  sessionCheckin: (token: number) => call('session_checkin', CheckedIn, { token }),
  statementConfirm: (lineId: number, studentNumber: string, amount: string | null) =>
    call('statement_confirm', z.object({ line_id: z.number(), student_number: z.string(), amount: money, status: z.string(), unassigned: money, alias_learned: z.string().nullable() }), { lineId, studentNumber, amount }),
  feeTolerance: () => call('fee_tolerance_get', money),
  setFeeTolerance: (amount: string, reason: string) => call('fee_tolerance_set', z.null(), { amount, reason }),
  invoices: (query: InvoiceQuery) => call('invoices_list', InvoicePage, { query }),
  invoiceExport: (number: string) => call('invoice_export', Written, { number }),
  invoicesExport: (numbers: string[], onProgress: (done: number, total: number) => void) => {
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => {
      const p = z.tuple([z.number(), z.number()]).safeParse(m);
      if (p.success) onProgress(p.data[0], p.data[1]);
    };
    return call('invoices_export', Written, { numbers, onProgress: channel });
  },
  invoicesExportMerged: (numbers: string[]) => call('invoices_export_merged', Written, { numbers }),
  invoicePreview: (number: string) => call('invoice_preview', InvoicePreview, { number }),
  exportCancel: () => call('export_cancel', z.null()),
  accountExport: (studentNumber: string) => call('account_export', Written, { studentNumber }),
  creditNoteIssue: (invoice: string, amount: string, reason: string) =>
    call('credit_note_issue', z.object({ number: z.string(), amount: money }), { invoice, amount, reason }),
  /** A page of the commission's candidates of `year` (all when null) whose number or name holds `search`. */
  exemptions: (search: string | null, year: string | null, offset: number, limit: number, count: PageCount) =>
    call('exemptions_list', z.object({ total: z.number().nullable(), offset: z.number(), rows: z.array(Candidate), years: z.array(z.string()) }), {
      query: { session: null, year, search, offset, limit, count },
    }),
  /** The academic years that have candidates, latest first. */
  exemptionYears: () => call('exemption_years', z.array(z.string())),
  exemptionDecide: (studentNumber: string, outcome: string, amount: string | null, reference: string, session: string | null, iban: string | null) =>
    call('exemption_decide', Applied, { studentNumber, outcome, amount, reference, session, iban }),
  cardPreview: (token: number, mapping: string | null) =>
    call('card_preview', z.object({ file: z.string(), rows: z.array(z.array(z.string())), mapping: z.object({ header_row: z.number() }).nullable(), problem: z.string().nullable(), transactions: z.number() }), { token, mapping }),
  cardImport: (token: number, mapping: string | null, saveAs: string | null, onProgress: (p: Progress) => void) => {
    const channel = new Channel<unknown>();
    channel.onmessage = (m) => {
      const p = Progress.safeParse(m);
      if (p.success) onProgress(p.data);
    };
    return call('card_import', CardImportSummary, { token, mapping, saveAs, onProgress: channel });
  },
  cardTransactions: (query: CardTransactionQuery) => call('card_transactions', CardTransactionPage, { query }),
  cardAssign: (number: string, studentNumber: string) => call('card_assign', CardTransaction, { number, studentNumber }),
  cardChargeBack: (number: string, reason: string) => call('card_charge_back', CardTransaction, { number, reason }),
  /** A page of the remittances, latest first. */
  cardRemittances: (offset: number, limit: number) =>
    call('card_remittances', z.object({ total: z.number(), offset: z.number(), rows: z.array(Remittance) }), { query: { offset, limit } }),
  /** A page of what is overdue on `asOf` (today when null), at a level a run would give. */
  dunningList: (asOf: string | null, query: { level: string | null; search: string | null; offset: number; limit: number; count: PageCount }) =>
    call('dunning_list', DunningPage, { asOf, query }),
  dunningRun: (merged: boolean, asOf: string | null) => call('dunning_run', DunningRun, { merged, asOf }),
  exemptionAdd: (studentNumber: string, reason: string) => call('exemption_add', z.boolean(), { studentNumber, reason }),
  sessionLabels: () => call('session_labels', z.array(z.object({ session: z.string(), label: z.string() }))),
  sessionLabelSet: (session: string, label: string, reason: string) =>
    call('session_label_set', z.object({ session: z.string(), label: z.string() }), { session, label, reason }),
  refunds: () =>
    call('refunds_list', z.array(z.object({ id: z.number(), student_number: z.string(), name: z.string(), date: isoDate, amount: money, status: refundStatus, iban: z.string().nullable() }))),
  refundPay: (id: number, iban: string | null) => call('refund_pay', z.null(), { id, iban }),
  exemptionsReport: (year: string | null) => call('exemptions_report', Report, { year }),
  exemptionsExport: (year: string | null) => call('exemptions_export', Written, { year }),
  statementUndo: (lineId: number, reason: string) => call('statement_undo', z.number(), { lineId, reason }),
  statementHold: (lineId: number, reason: string) => call('statement_hold', z.null(), { lineId, reason }),
  saveSettings: (settings: SchoolSettings, reason: string) => call('settings_set', z.null(), { settings, reason }),
};

/** Compiles only when a schema accepts exactly what the Rust type can hold. The types in
 *  ./bindings are generated from the Rust types by ts-rs (`cargo test` writes them; scripts/test
 *  fails if they differ from the committed ones): a variant added or renamed in Rust breaks this
 *  build until the schema follows, and the schemas go on checking every response at run time. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
function exactly<A, B>(proof: Exactly<A, B>): void {
  void proof;
}
exactly<z.infer<typeof school>, School>(true);
exactly<z.infer<typeof plan>, PlanKind>(true);
exactly<z.infer<typeof status>, RequestStatus>(true);
exactly<z.infer<typeof refundStatus>, RefundStatus>(true);
exactly<z.infer<typeof installmentStatus>, InstallmentStatus>(true);
exactly<z.infer<typeof role>, Role>(true);
exactly<z.infer<typeof severity>, Severity>(true);
exactly<z.infer<typeof paymentMethod>, PaymentMethod>(true);
exactly<z.infer<typeof positionKind>, PositionKind>(true);
exactly<z.infer<typeof rounding>, Rounding>(true);
exactly<z.infer<typeof statementFormat>, StatementFormat>(true);
exactly<z.infer<typeof lineStatus>, LineStatus>(true);
exactly<z.infer<typeof invoiceStatus>, InvoiceStatus>(true);
exactly<z.infer<typeof cardKind>, CardKind>(true);
exactly<z.infer<typeof cardStatus>, CardStatus>(true);
exactly<z.infer<typeof cardOutcome>, CardOutcome>(true);
exactly<z.infer<typeof exemptionOutcome>, ExemptionOutcome>(true);
exactly<z.infer<typeof level>, DunningLevel>(true);
exactly<z.infer<typeof AppStatus>, GeneratedAppStatus>(true);
exactly<z.infer<typeof finding>, Finding>(true);
exactly<z.infer<typeof Position>, AccountPosition>(true);
exactly<z.infer<typeof StudentPage>, GeneratedStudentPage>(true);
exactly<z.infer<typeof RequestPage>, GeneratedRequestPage>(true);
exactly<z.infer<typeof LinePage>, GeneratedLinePage>(true);
exactly<z.infer<typeof InvoicePage>, GeneratedInvoicePage>(true);
exactly<z.infer<typeof Request>, GeneratedRequest>(true);
exactly<z.infer<typeof RegistrationsPreview>, GeneratedRegistrationsPreview>(true);
exactly<z.infer<typeof RegistrationsSummary>, GeneratedRegistrationsSummary>(true);
exactly<z.infer<typeof ListedBackup>, GeneratedListedBackup>(true);
exactly<z.infer<typeof Backup>, GeneratedBackup>(true);
exactly<z.infer<typeof Restored>, GeneratedRestored>(true);
