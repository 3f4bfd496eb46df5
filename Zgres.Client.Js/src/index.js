export { ZgresClient, SubscriptionRefusedError, TransactionWaitError } from "./client.js";
export { ZgresSubscription } from "./subscription.js";
export { LiveQuery } from "./live-query.js";
