// The two request sections of the Seller Center: their documents, and the decisions a request
// offers now (from its next action), each with the inputs its mutation takes.

const MONEY = "{ amount currency minorUnits }";
const LINE = `{ lineId sku title quantity unitPrice ${MONEY} subtotal ${MONEY} }`;
const ROW_LINE = `{ title quantity subtotal { currency minorUnits } }`;
const BREAKDOWN = `{ items ${MONEY} shipping ${MONEY} total ${MONEY} }`;
const QUOTE = `{ items ${MONEY} shipping ${MONEY} total ${MONEY} lines { lineId quantity amount ${MONEY} } }`;
const TIMELINE = `timeline { at actorKind actorId action fromStatus toStatus reason { displayText } comment deadline }`;
const NEXT = "nextAction { actorKind action dueAt }";
const ROW = `id orderId buyerId status requestedAt reason { displayText } lines ${ROW_LINE} ${NEXT}`;
const TICKET = `ticket: requestTicket(requestId: $id) {
  id status subject assignee tags openedAt rulesApplied
  notes { at authorId text }
  timeline { at actorKind actorId action detail ruleName }
}`;
// What a decision answers: the request's new status, or the typed error.
const CANCELLATION_RESULT = `__typename ... on Cancellation { id status } ... on UserError { code message field }`;
const AFTER_SALE_RESULT = `__typename ... on AfterSale { id status } ... on UserError { code message field }`;

const COMMENT = { name: "comment", kind: "comment", label: "Comment (to the buyer)" };
const REQUIRED_COMMENT = { ...COMMENT, label: "Comment (required)", required: true };

export const SECTIONS = {
  cancellations: {
    label: "Cancellations",
    tabs: ["TO_PROCEED", "COMPLETED", "CLOSED", "ALL"],
    kinds: ["CANCELLATION"],
    counts: "cancellations", // the field of TabCountsUpdate
    result: CANCELLATION_RESULT,
    filters: ["orderId", "buyerId", "createdFrom", "createdTo"],
    list: `query List($shopId: ID, $tab: CancellationTab!, $filter: CancellationFilter, $sort: CancellationSort!, $first: Int!, $after: String) {
      page: cancellations(shopId: $shopId, tab: $tab, filter: $filter, sort: $sort, first: $first, after: $after) {
        edges { cursor node { ${ROW} } }
        pageInfo { hasNextPage endCursor }
        tabCounts { tab count }
      }
    }`,
    detail: `query Detail($id: ID!) {
      request: cancellation(id: $id) {
        id orderId buyerId status tab initiator requestedAt respondBy resolvedAt note
        reason { code displayText } lines ${LINE}
        refund ${BREAKDOWN}
        rejection { reason { displayText } comment }
        ${NEXT} ${TIMELINE}
      }
      quote: refundQuote(cancellationId: $id) ${QUOTE}
      ${TICKET}
    }`,
    catalogues: `{ reject: cancellationRejectReasons { code displayText } }`,
    // Bulk: the same decisions as one row's, without per-row inputs.
    bulkAccept: (request) => ({
      mutation: "acceptCancellation",
      inputType: "DecideCancellationInput",
      input: { cancellationId: request.id },
    }),
    bulkReject: (request, reason, comment) => ({
      mutation: "rejectCancellation",
      inputType: "RejectCancellationInput",
      input: { cancellationId: request.id, reason, comment: comment || null },
    }),
    bulkRejectCatalogue: () => "reject",
    decisions: (request) => {
      if (!request.nextAction || request.nextAction.action !== "ACCEPT_OR_REJECT") return [];
      const id = { cancellationId: request.id };
      return [
        {
          key: "accept",
          label: "Accept",
          style: "primary",
          title: `Accept the cancellation of ${request.orderId}`,
          text: "The order is cancelled and the buyer refunded in full.",
          mutation: "acceptCancellation",
          inputType: "DecideCancellationInput",
          fields: [],
          input: () => id,
        },
        {
          key: "reject",
          label: "Reject",
          style: "danger",
          title: `Reject the cancellation of ${request.orderId}`,
          mutation: "rejectCancellation",
          inputType: "RejectCancellationInput",
          fields: [{ name: "reason", kind: "reason", catalogue: "reject", label: "Reason" }, COMMENT],
          input: (v) => ({ ...id, reason: v.reason, comment: v.comment }),
        },
      ];
    },
  },
  afterSales: {
    label: "Returns & refunds",
    tabs: ["TO_PROCEED", "IN_PROCESS", "COMPLETED", "CLOSED", "ALL"],
    kinds: ["REFUND_ONLY", "RETURN_AND_REFUND", "REPLACEMENT"],
    counts: "afterSales",
    result: AFTER_SALE_RESULT,
    filters: ["kind", "orderId", "buyerId", "createdFrom", "createdTo", "deadlineBefore"],
    list: `query List($shopId: ID, $tab: AfterSaleTab!, $filter: AfterSaleFilter, $sort: AfterSaleSort, $first: Int!, $after: String) {
      page: afterSales(shopId: $shopId, tab: $tab, filter: $filter, sort: $sort, first: $first, after: $after) {
        edges { cursor node { kind ${ROW} } }
        pageInfo { hasNextPage endCursor }
        tabCounts { tab count }
      }
    }`,
    detail: `query Detail($id: ID!) {
      request: afterSale(id: $id) {
        id orderId buyerId kind initiator status tab requestedAt resolvedAt deadline note followsId
        reason { code displayText } lines ${LINE}
        decision { type buyerKeepsItem partialAmount ${MONEY} reason { displayText } comment decidedAt decidedBy lines { lineId title quantity } }
        rejection { reason { displayText } comment at onReceipt }
        appeal { reason { displayText } comment at forBuyer note decidedAt }
        returnShipment { carrier trackingNumber shippedAt receivedAt }
        replacementShipment { carrier trackingNumber shippedAt receivedAt }
        refund ${QUOTE}
        ${NEXT} ${TIMELINE}
      }
      quote: refundQuote(requestId: $id) ${QUOTE}
      ${TICKET}
    }`,
    catalogues: `{
      refundReject: afterSaleReasons(catalogue: REFUND_REJECT) { code displayText }
      replacementReject: afterSaleReasons(catalogue: REPLACEMENT_REJECT) { code displayText }
      replacementApprove: afterSaleReasons(catalogue: REPLACEMENT_APPROVE) { code displayText }
      receiptReject: afterSaleReasons(catalogue: RECEIPT_REJECT) { code displayText }
    }`,
    bulkAccept: (request) => ({
      mutation: "approveAfterSale",
      inputType: "ApproveAfterSaleInput",
      input: { requestId: request.id, decision: APPROVAL[request.kind] },
    }),
    bulkReject: (request, reason, comment) => ({
      mutation: "rejectAfterSale",
      inputType: "ReasonedStepInput",
      input: { requestId: request.id, reason, comment: comment || null },
    }),
    bulkRejectCatalogue: (request) =>
      request.kind === "REPLACEMENT" ? "replacementReject" : "refundReject",
    decisions: (request) => {
      const next = request.nextAction;
      if (!next || next.actorKind !== "SELLER_AGENT") return [];
      const id = { requestId: request.id };
      const replacement = request.kind === "REPLACEMENT";
      const lines = { name: "lines", kind: "lines", label: "Lines and quantities" };
      if (next.action === "APPROVE_OR_REJECT") {
        const approve = {
          key: "approve",
          label: { REFUND_ONLY: "Approve refund", RETURN_AND_REFUND: "Approve return", REPLACEMENT: "Approve replacement" }[request.kind],
          style: "primary",
          title: `Approve ${request.id}`,
          mutation: "approveAfterSale",
          inputType: "ApproveAfterSaleInput",
          fields: [
            lines,
            ...(replacement ? [{ name: "reason", kind: "reason", catalogue: "replacementApprove", label: "Reason type" }] : []),
            ...(request.kind !== "REFUND_ONLY" ? [{ name: "buyerKeepsItem", kind: "check", label: "The buyer keeps the item (no return)" }] : []),
            COMMENT,
          ],
          input: (v) => ({
            ...id,
            decision: APPROVAL[request.kind],
            lines: v.lines,
            buyerKeepsItem: Boolean(v.buyerKeepsItem),
            reason: v.reason || null,
            comment: v.comment,
          }),
        };
        const partial = {
          key: "partial",
          label: "Partial refund",
          style: "",
          title: `Offer a partial refund on ${request.id}`,
          text: "The buyer accepts (refunded this amount, keeps the item) or declines (it comes back to you).",
          mutation: "approveAfterSale",
          inputType: "ApproveAfterSaleInput",
          fields: [lines, { name: "amount", kind: "money", label: "Amount" }, COMMENT],
          input: (v) => ({ ...id, decision: "OFFER_PARTIAL_REFUND", lines: v.lines, partialAmount: v.amount, comment: v.comment }),
        };
        const refundInstead = {
          key: "refund-instead",
          label: "Refund instead",
          style: "",
          title: `Refund ${request.id} instead of replacing`,
          text: "The lines are refunded in full and the buyer keeps the item.",
          mutation: "approveAfterSale",
          inputType: "ApproveAfterSaleInput",
          fields: [COMMENT],
          input: (v) => ({ ...id, decision: "ISSUE_REPLACEMENT_REFUND", comment: v.comment }),
        };
        const reject = {
          key: "reject",
          label: "Reject",
          style: "danger",
          title: `Reject ${request.id}`,
          mutation: "rejectAfterSale",
          inputType: "ReasonedStepInput",
          fields: [
            { name: "reason", kind: "reason", catalogue: replacement ? "replacementReject" : "refundReject", label: "Reason" },
            replacement ? REQUIRED_COMMENT : COMMENT,
          ],
          input: (v) => ({ ...id, reason: v.reason, comment: v.comment }),
        };
        return replacement ? [approve, refundInstead, reject] : [approve, partial, reject];
      }
      if (next.action === "CONFIRM_RECEIPT") {
        return [
          {
            key: "confirm-receipt",
            label: "Confirm receipt",
            style: "primary",
            title: `Confirm the return of ${request.id} arrived`,
            text: replacement ? "The replacement is then shipped." : "The refund is paid at once.",
            mutation: "confirmReturnReceived",
            inputType: "AfterSaleStepInput",
            fields: [],
            input: () => id,
          },
          {
            key: "reject-receipt",
            label: "Reject on receipt",
            style: "danger",
            title: `Reject the returned parcel of ${request.id}`,
            mutation: "rejectReturnOnReceipt",
            inputType: "ReasonedStepInput",
            fields: [{ name: "reason", kind: "reason", catalogue: "receiptReject", label: "Reason" }, COMMENT],
            input: (v) => ({ ...id, reason: v.reason, comment: v.comment }),
          },
        ];
      }
      if (next.action === "SHIP_REPLACEMENT") {
        return [
          {
            key: "ship-replacement",
            label: "Ship replacement",
            style: "primary",
            title: `Ship the replacement of ${request.id}`,
            mutation: "shipReplacement",
            inputType: "ShipmentInput",
            fields: [
              { name: "carrier", kind: "text", label: "Carrier", required: true },
              { name: "trackingNumber", kind: "text", label: "Tracking number", required: true },
            ],
            input: (v) => ({ ...id, carrier: v.carrier, trackingNumber: v.trackingNumber }),
          },
          {
            key: "refund-instead",
            label: "Refund instead",
            style: "",
            title: `Refund ${request.id} instead of replacing`,
            text: "The lines are refunded in full, the buyer keeps the item, the replacement order is cancelled.",
            mutation: "approveAfterSale",
            inputType: "ApproveAfterSaleInput",
            fields: [COMMENT],
            input: (v) => ({ ...id, decision: "ISSUE_REPLACEMENT_REFUND", comment: v.comment }),
          },
        ];
      }
      return [];
    },
  },
};

const APPROVAL = {
  REFUND_ONLY: "APPROVE_REFUND",
  RETURN_AND_REFUND: "APPROVE_RETURN",
  REPLACEMENT: "APPROVE_REPLACEMENT",
};

export const LIVE_COUNTS = `subscription Counts($shopId: ID) {
  tabCounts(shopId: $shopId) {
    __typename
    ... on TabCountsUpdate { cancellations { tab count } afterSales { tab count } }
    ... on UserError { code message }
  }
}`;

export const LIVE_EVENTS = `subscription Events($shopId: ID, $kinds: [RequestKind!]) {
  requestEvents(shopId: $shopId, kinds: $kinds) {
    __typename
    ... on RequestEvent { cursor requestId }
    ... on UserError { code message }
  }
}`;

export const VIEWER = "{ viewer { kind id shopId permissions } }";
