{#-
    Order lines, one row per order and line number. When an order changes the shop exports
    all its lines again, so the lines of an order come from the latest batch that delivered
    any line of it (a line dropped from the order disappears); exact duplicate rows inside
    that batch collapse.
-#}
with

-- Read twice: not materialized, as in stg_web__events.
source as not materialized (

    select * from {{ source('raw', 'shop__order_items') }}

),

line_keys as (

    select
        _batch_id,
        _source_row,
        _loaded_at,
        {{ clean_text('order_id') }} as order_id,
        {{ safe_integer('line_number') }} as line_number
    from source

),

batch_ranked as (

    select
        *,
        dense_rank() over (
            partition by order_id
            order by _loaded_at desc, _batch_id desc
        ) as batch_rank
    from line_keys
    where order_id is not null and line_number is not null

),

kept_lines as (

    -- Ranked on the keys alone, then only the kept rows are parsed: ranking parsed rows
    -- sorted every column of ~13M lines at 1M customers.
    select
        _batch_id,
        _source_row
    from (
        select
            _batch_id,
            _source_row,
            row_number() over (
                partition by order_id, line_number
                order by _source_row desc
            ) as line_rank
        from batch_ranked
        where batch_rank = 1
    ) as ranked_lines
    where line_rank = 1

),

delivered as (

    select source.*
    from source
    inner join kept_lines
        on
            source._batch_id = kept_lines._batch_id
            and source._source_row = kept_lines._source_row

),

renamed as (

    select
        {{ clean_text('order_id') }} as order_id,
        {{ safe_integer('line_number') }} as line_number,
        {{ clean_text('product_id') }} as product_id,
        {{ safe_integer('quantity') }} as quantity,
        {{ safe_decimal('unit_price') }} as unit_price,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id
    from delivered

),

final as (

    select
        order_id || '-' || cast(line_number as varchar) as order_line_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        cast(quantity * unit_price as decimal(18, 2)) as line_amount,
        loaded_at,
        batch_id
    from renamed

)

select * from final
