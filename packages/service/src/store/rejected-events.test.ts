import { pgStoreBackend, sqliteStoreBackend } from '../../test/store-backends.js'
import { describeRejectedEventsContract } from './rejected-events.contract.js'

describeRejectedEventsContract(sqliteStoreBackend())
describeRejectedEventsContract(pgStoreBackend())
