{#-
    Every sale before the as-of date, online and in store, one row per order, with the person
    who made it.

    - Online orders (stg_shop__orders): the person of the account's CRM id; a guest order
      (no account) is the person of its email.
    - Store sales (stg_store__transactions): order_id is the till's transaction id, the
      person is the loyalty card's; a sale without a card keeps a null person_id, so store
      revenue still adds up, and the person-level marts leave it out.
    - `amount` is the revenue the sale kept, refunds netted: the amount paid (after
      discount) for completed orders, 0 for refunded and cancelled ones. `gross_amount` is
      the value before discount and before any refund; `paid_amount` what the customer was
      charged.
    - Types are fixed for BI tools: money decimal(18, 2), counts bigint.
-#}
with

shop_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

store_transactions as (

    select * from {{ ref('stg_store__transactions') }}

),

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

crm_people as (

    select
        identifier_value as customer_id,
        person_id
    from identifiers
    where identifier_type = 'crm_id'

),

email_people as (

    select
        identifier_value as email,
        person_id
    from identifiers
    where identifier_type = 'email'

),

loyalty_people as (

    select
        identifier_value as loyalty_id,
        person_id
    from identifiers
    where identifier_type = 'loyalty_id'

),

order_units as (

    select
        order_id,
        sum(quantity) as items
    from order_items
    group by order_id

),

online_orders as (

    select
        shop_orders.order_id,
        coalesce(crm_people.person_id, email_people.person_id) as person_id,
        shop_orders.ordered_at,
        shop_orders.channel,
        shop_orders.order_status,
        shop_orders.amount as paid_amount,
        shop_orders.amount + shop_orders.discount as gross_amount,
        shop_orders.discount,
        shop_orders.currency,
        'shop' as source,  -- noqa: RF04
        cast(null as {{ dbt.type_string() }}) as store_id,
        order_units.items
    from shop_orders
    left join crm_people
        on shop_orders.customer_id = crm_people.customer_id
    left join email_people
        on shop_orders.email = email_people.email
    left join order_units
        on shop_orders.order_id = order_units.order_id
    where shop_orders.ordered_at < {{ as_of_timestamp() }}

),

store_sales as (

    select
        store_transactions.transaction_id as order_id,
        loyalty_people.person_id,
        store_transactions.transacted_at as ordered_at,
        'store' as channel,
        'completed' as order_status,
        store_transactions.amount as paid_amount,
        store_transactions.amount as gross_amount,
        cast(0 as decimal(18, 2)) as discount,
        cast(null as {{ dbt.type_string() }}) as currency,
        'store' as source,  -- noqa: RF04
        store_transactions.store_id,
        store_transactions.items
    from store_transactions
    left join loyalty_people
        on store_transactions.loyalty_id = loyalty_people.loyalty_id
    where store_transactions.transacted_at < {{ as_of_timestamp() }}

),

unioned as (

    select * from online_orders
    union all
    select * from store_sales

),

final as (

    select
        order_id,
        person_id,
        ordered_at,
        channel,
        order_status,
        cast(
            case when order_status = 'completed' then paid_amount else 0 end as decimal(18, 2)
        ) as amount,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(discount as decimal(18, 2)) as discount,
        cast(paid_amount as decimal(18, 2)) as paid_amount,
        currency,
        source,  -- noqa: RF04
        store_id,
        cast(items as bigint) as items
    from unioned

)

select * from final
