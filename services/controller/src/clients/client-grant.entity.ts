import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A subject other than the creator who may see and use a client (table `controller.client_grant`,
 * deleted with the client).
 */
@Entity({ tableName: 'client_grant' })
export class ClientGrant {
  @PrimaryKey({ type: 'text' })
  clientId!: string;

  @PrimaryKey({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  granter!: string;

  @Property({ type: 'datetime' })
  grantTime!: Date;
}
