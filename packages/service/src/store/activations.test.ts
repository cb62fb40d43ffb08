import { pgStoreBackend, sqliteStoreBackend } from '../../test/store-backends.js'
import { describeActivationStoreContract } from './activations.contract.js'

describeActivationStoreContract(sqliteStoreBackend())
describeActivationStoreContract(pgStoreBackend())
